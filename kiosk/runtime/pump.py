"""Camera -> landmarker. Live sources run it on a thread (the UI never waits for a model); replays run it
inline so a simulated session is deterministic and as fast as the CPU allows."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.camera.frame import Frame
from kiosk.errors import CameraError, CameraLost
from kiosk.perception.types import FrameObservation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Perceived:
    """A frame, its landmarks, and what the per-frame analysis hook made of it (engine events, hints)."""

    frame: Frame
    obs: FrameObservation
    results: tuple[Any, ...] = ()


# Per-frame analysis that must not run on the UI thread (document outline, liveness signals).
FrameHook = Callable[[Frame, FrameObservation], list[Any]]


@dataclass(frozen=True)
class SourceLost:
    message: str


@dataclass(frozen=True)
class SourceBack:
    pass


@dataclass(frozen=True)
class SourceEnd:
    pass


Item = Perceived | SourceLost | SourceBack | SourceEnd


def _is_end(exc: Exception) -> bool:
    return type(exc).__name__ == "SourceEnded"


class PerceptionPump:
    """Reads frames from ``source`` and landmarks them.

    ``threaded``: a background thread keeps only the newest results (``max_pending``), so a slow model
    drops frames instead of adding latency. Otherwise :meth:`poll` reads and processes one frame.
    """

    def __init__(
        self,
        source: Any,
        landmarker: Any,
        *,
        threaded: bool,
        read_timeout_s: float = 0.05,
        max_pending: int = 2,
        hook: FrameHook | None = None,
    ) -> None:
        self.source = source
        self.landmarker = landmarker
        self.hook = hook
        self.threaded = threaded
        self.read_timeout_s = read_timeout_s
        self._q: queue.Queue[Item] = queue.Queue(maxsize=max_pending + 4)
        self._stop = threading.Event()
        self._lost = False
        self._thread: threading.Thread | None = None
        self.frames_seen = 0
        if threaded:
            self._thread = threading.Thread(target=self._loop, name="perception", daemon=True)
            self._thread.start()

    def _read_one(self) -> Item | None:
        try:
            frame = self.source.read(self.read_timeout_s)
        except CameraLost as exc:
            if self._lost:
                return None
            self._lost = True
            return SourceLost(str(exc))
        except CameraError as exc:
            if _is_end(exc):
                return SourceEnd()
            if self._lost:
                return None
            self._lost = True
            return SourceLost(str(exc))
        if frame is None:
            return None
        if self._lost:
            self._lost = False
            self._put(SourceBack())
        obs = self.landmarker.detect_video(frame.rgb, frame.timestamp_s)
        self.frames_seen += 1
        results = tuple(self.hook(frame, obs)) if self.hook is not None else ()
        return Perceived(frame, obs, results)

    def _put(self, item: Item) -> None:
        if not self.threaded:
            self._q.put(item)
            return
        while True:
            try:
                self._q.put_nowait(item)
                return
            except queue.Full:
                try:  # drop the oldest frame result, never a lost/back/end notice
                    old = self._q.get_nowait()
                    if not isinstance(old, Perceived):
                        self._q.put_nowait(old)
                        return
                except queue.Empty:
                    pass

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._read_one()
            except Exception as exc:
                log.exception("perception failed")
                item = SourceLost(f"perception error: {type(exc).__name__}")
                self._stop.wait(0.5)
            if item is not None:
                self._put(item)
                if isinstance(item, SourceEnd):
                    return
            if isinstance(item, SourceLost):
                self._stop.wait(0.2)

    def poll(self) -> list[Item]:
        """Items ready now (threaded) or the next frame's item (inline)."""
        if not self.threaded:
            item = self._read_one()
            if item is not None:
                self._q.put(item)
        out: list[Item] = []
        while True:
            try:
                out.append(self._q.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
