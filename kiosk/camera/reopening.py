"""Keep a camera alive: report a loss once, then reopen it every ``reopen_interval_s`` seconds.

:class:`ReopeningSource` wraps a factory of sources. Its ``open()`` never fails for camera reasons:
a camera that is absent at start is reported like one lost later. ``read()``:

- passes frames through (timestamps forced strictly increasing across reopenings; the first frame
  after a successful reopen carries ``meta["camera_back"] = True`` so the app can send CameraBack);
- on :class:`~kiosk.errors.CameraLost` (or any CameraError, or an unexpected driver exception,
  which is logged with its traceback) from the inner source: closes it and raises ``CameraLost``
  ONCE; the session engine aborts the session and shows the attract screen;
- while lost: returns None, and every ``reopen_interval_s`` seconds (injected clock) builds a new
  inner source with the factory and opens it; when that works, frames flow again;
- :class:`~kiosk.camera.source.SourceEnded` passes through: the end of a file is not a fault.

So the app never crashes on a camera: it sees at most one CameraLost per outage.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from kiosk.camera.frame import Frame
from kiosk.camera.pacing import sleep_on
from kiosk.camera.source import DEFAULT_READ_TIMEOUT_S, FrameSource, SourceEnded, SourceInfo
from kiosk.clock import Clock
from kiosk.errors import CameraError, CameraLost

log = logging.getLogger(__name__)


class ReopeningSource:
    """See the module docstring. ``inner_factory()`` returns an unopened source (it may return the
    same object each time: every source can be reopened after ``close()``)."""

    def __init__(
        self,
        inner_factory: Callable[[], FrameSource],
        clock: Clock,
        reopen_interval_s: float,
        *,
        name: str = "camera",
    ) -> None:
        if reopen_interval_s <= 0:
            raise ValueError("reopen_interval_s must be positive")
        self._factory = inner_factory
        self._clock = clock
        self._interval = reopen_interval_s
        self._inner: FrameSource | None = None
        self._last_built: FrameSource | None = None
        self._info = SourceInfo(name, 0, 0, 0.0, is_live=True)
        self._opened = False
        self._loss_reported = False
        self._next_attempt = float("-inf")
        self._last_error = "camera not opened yet"
        self._last_ts = float("-inf")
        self._back = False
        self.generation = 0  # successful opens so far
        self.losses = 0  # outages reported so far

    @property
    def inner(self) -> FrameSource | None:
        """The current inner source (None while the camera is lost)."""
        return self._inner

    def __getattr__(self, name: str) -> Any:
        # Reach the wrapped source's extras (an actor's on_prompt...), also during an outage.
        if name.startswith("_"):
            raise AttributeError(name)
        target = self._inner if self._inner is not None else self._last_built
        if target is None:
            raise AttributeError(name)
        return getattr(target, name)

    @property
    def last_inner(self) -> FrameSource | None:
        """The source the factory built last, open or not (reachable during an outage)."""
        return self._last_built

    @property
    def available(self) -> bool:
        return self._inner is not None

    @property
    def last_error(self) -> str:
        return self._last_error

    @property
    def info(self) -> SourceInfo:
        return self._inner.info if self._inner is not None else self._info

    def open(self) -> None:
        """Try to open now; on failure stay closed (the next ``read`` reports CameraLost once)."""
        self._opened = True
        if self._inner is None:
            self._attempt()

    def close(self) -> None:
        self._opened = False
        inner, self._inner = self._inner, None
        if inner is not None:
            _close_quietly(inner)

    def _attempt(self) -> bool:
        self._next_attempt = self._clock.now() + self._interval
        src: FrameSource | None = None
        try:
            src = self._factory()
            self._last_built = src
            src.open()
        except CameraError as exc:
            self._failed_attempt(src, exc.message)
            return False
        except Exception as exc:  # a driver bug must not take the kiosk down
            log.exception("unexpected error opening the camera")
            self._failed_attempt(src, f"{type(exc).__name__}: {exc}")
            return False
        self._inner = src
        self._info = src.info
        self.generation += 1
        self._back = self.generation > 1 or self._loss_reported
        self._loss_reported = False
        log.info("camera %s open (generation %d)", src.info.name, self.generation)
        return True

    def _failed_attempt(self, src: FrameSource | None, why: str) -> None:
        if src is not None:
            _close_quietly(src)
        if why != self._last_error:
            log.warning("camera unavailable: %s (retrying every %.1f s)", why, self._interval)
        self._last_error = why

    def _lose(self, why: str) -> CameraLost:
        inner, self._inner = self._inner, None
        if inner is not None:
            _close_quietly(inner)
        self.losses += 1
        self._loss_reported = True
        self._last_error = why
        self._next_attempt = self._clock.now() + self._interval
        log.warning("camera lost: %s", why)
        return CameraLost(why)

    def read(self, timeout_s: float = DEFAULT_READ_TIMEOUT_S) -> Frame | None:
        if not self._opened:
            raise CameraError("ReopeningSource: read() before open() or after close()")
        if self._inner is None:
            if not self._loss_reported:
                self.losses += 1
                self._loss_reported = True
                raise CameraLost(self._last_error)
            now = self._clock.now()
            if now < self._next_attempt:
                sleep_on(self._clock, min(timeout_s, self._next_attempt - now))
                if self._clock.now() < self._next_attempt:
                    return None
            if not self._attempt():
                return None
        assert self._inner is not None
        try:
            frame = self._inner.read(timeout_s)
        except SourceEnded:
            raise
        except CameraError as exc:
            raise self._lose(exc.message) from None
        except Exception as exc:
            log.exception("unexpected error reading the camera")
            raise self._lose(f"{type(exc).__name__}: {exc}") from None
        if frame is None:
            return None
        ts = frame.timestamp_s
        meta = frame.meta
        if ts <= self._last_ts:
            ts = self._last_ts + 1e-6
        if self._back:
            meta = {**meta, "camera_back": True}
            self._back = False
        self._last_ts = ts
        if ts != frame.timestamp_s or meta is not frame.meta:
            frame = dataclasses.replace(frame, timestamp_s=ts, meta=meta)
        return frame


def _close_quietly(src: FrameSource) -> None:
    try:
        src.close()
    except Exception:  # closing a dead device may fail; it is gone either way
        log.debug("close failed", exc_info=True)
