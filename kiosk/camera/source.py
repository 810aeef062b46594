"""The one interface every camera source implements, and the errors it speaks.

Contract of :class:`FrameSource`:

- ``open()`` acquires the device or file. A device that is not there raises
  :class:`~kiosk.errors.CameraLost`; a source that can never work as configured (missing driver
  package, no GStreamer in this OpenCV, unreadable scenario) raises another
  :class:`~kiosk.errors.CameraError` with a message saying what to do.
- ``read(timeout_s)`` returns the next :class:`~kiosk.camera.frame.Frame`, or ``None`` when no new
  frame arrived within ``timeout_s`` seconds ("not yet"; call again). A live source that failed
  (unplugged, read error, no frame for ``frame_timeout_s``) raises ``CameraLost``. A finite
  source (file, folder, ...) that reached its end raises :class:`SourceEnded` on this and every
  later call. Frame timestamps are monotonic seconds on the source's injected clock and strictly
  increase from one frame to the next, also across loops, segment switches and reopenings.
- ``close()`` releases everything; it is idempotent and never raises. A closed source may be
  opened again (``ReopeningSource`` relies on that).
- ``info`` describes the stream (name, size, nominal fps, live or replay).

Sources never draw. Replays and simulations (file, dir, actor) never sleep on a fake clock; live
cameras wait up to ``timeout_s`` real seconds for their capture thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from kiosk.camera.frame import Frame
from kiosk.errors import CameraError

#: ``read()``'s default wait (seconds): about two frames of a 30 fps camera.
DEFAULT_READ_TIMEOUT_S = 0.07


class SourceEnded(CameraError):
    """A finite source (video file, image folder, scenario) has no more frames. Not a fault: the
    caller stops reading. Raised by ``read()`` at the end and on every later call."""

    code = "source_ended"


@dataclass(frozen=True)
class SourceInfo:
    """What a source delivers.

    ``width_px`` x ``height_px``: frame size in pixels (the nominal or requested size until the
    source is open; the real one afterwards). ``fps``: nominal frames per second. ``is_live``: a
    real camera (True) or a replay/simulation (False). ``name`` is for logs and decision records.
    """

    name: str
    width_px: int
    height_px: int
    fps: float
    is_live: bool

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return (self.width_px, self.height_px)


@runtime_checkable
class FrameSource(Protocol):
    """See the module docstring for the full contract."""

    @property
    def info(self) -> SourceInfo: ...

    def open(self) -> None: ...

    def read(self, timeout_s: float = DEFAULT_READ_TIMEOUT_S) -> Frame | None: ...

    def close(self) -> None: ...


class SourceBase:
    """Conveniences shared by the concrete sources: context manager and an open-state check."""

    _is_open: bool = False

    @property
    def is_open(self) -> bool:
        return self._is_open

    def open(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _require_open(self) -> None:
        if not self._is_open:
            raise CameraError(f"{type(self).__name__}: read() before open() or after close()")

    def __enter__(self) -> SourceBase:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
