"""A capture thread that keeps only the newest frame of a live camera.

Live drivers (V4L2, libcamera, GStreamer) block in their read call and queue frames; a kiosk wants
the newest frame, not a backlog. :class:`LatestFrameGrabber` reads on its own thread, stamps each
frame on the injected clock, keeps the latest one and reports failures as
:class:`~kiosk.errors.CameraLost` from :meth:`read`: a failed read, a driver exception, or no
frame for ``frame_timeout_s`` seconds (measured on the injected clock).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from kiosk.camera.frame import Frame
from kiosk.clock import Clock
from kiosk.errors import CameraLost

log = logging.getLogger(__name__)

#: ``grab()`` returns (rgb, driver timestamp in seconds or None), or None when the read failed.
GrabResult = tuple[np.ndarray, float | None] | None


class TimestampMapper:
    """Maps driver timestamps (any monotonic origin, seconds) onto the injected clock.

    The first frame fixes the offset ``clock.now() - driver_ts``; later frames keep the driver's
    exact spacing. A mapped time is never in the clock's future, always strictly after the previous
    one, and re-anchored when it drifts more than ``resync_s`` from ``now`` (driver clock reset).
    Without a driver timestamp the frame gets ``clock.now()`` at capture.
    """

    def __init__(self, clock: Clock, resync_s: float = 0.5) -> None:
        self._clock = clock
        self._resync_s = resync_s
        self._offset: float | None = None
        self._last = float("-inf")

    def map(self, driver_s: float | None) -> float:
        now = self._clock.now()
        if driver_s is None:
            t = now
        else:
            if self._offset is None or abs(driver_s + self._offset - now) > self._resync_s:
                self._offset = now - driver_s
            t = min(driver_s + self._offset, now)
        if t <= self._last:
            t = self._last + 1e-6
        self._last = t
        return t


class LatestFrameGrabber:
    """Run ``grab`` on a daemon thread; :meth:`read` hands out the newest frame once.

    ``release`` is called on the capture thread when it ends (drivers dislike being released from
    another thread while a read is in flight). ``name`` appears in error messages.
    """

    def __init__(
        self,
        name: str,
        grab: Callable[[], GrabResult],
        release: Callable[[], None],
        clock: Clock,
        frame_timeout_s: float,
    ) -> None:
        self._name = name
        self._grab = grab
        self._release = release
        self._clock = clock
        self._frame_timeout_s = frame_timeout_s
        self._mapper = TimestampMapper(clock)
        self._cond = threading.Condition()
        self._latest: tuple[np.ndarray, float] | None = None
        self._seq = 0
        self._delivered_seq = 0
        self._delivered = 0
        self._error: str | None = None
        self._stop = threading.Event()
        self._last_frame_at = clock.now()
        self._thread = threading.Thread(target=self._run, name=f"grab-{name}", daemon=True)

    def start(self) -> None:
        self._last_frame_at = self._clock.now()
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    got = self._grab()
                except Exception as exc:  # a driver error ends the stream, never the app
                    self._fail(f"{type(exc).__name__}: {exc}")
                    return
                if got is None:
                    self._fail("read failed (device unplugged, busy, or the stream ended)")
                    return
                rgb, driver_s = got
                ts = self._mapper.map(driver_s)
                with self._cond:
                    self._latest = (rgb, ts)
                    self._seq += 1
                    self._last_frame_at = self._clock.now()
                    self._cond.notify_all()
        finally:
            try:
                self._release()
            except Exception:  # releasing a dead device may fail; nothing left to do
                log.debug("release of %s failed", self._name, exc_info=True)
            with self._cond:
                self._cond.notify_all()

    def _fail(self, why: str) -> None:
        with self._cond:
            if not self._stop.is_set():
                self._error = why
            self._cond.notify_all()

    def read(self, timeout_s: float) -> Frame | None:
        """The newest frame not yet handed out; None if none came within ``timeout_s`` (real seconds)."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._cond:
            while self._seq == self._delivered_seq and self._error is None and self._thread.is_alive():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if self._seq != self._delivered_seq and self._latest is not None:
                rgb, ts = self._latest
                dropped = self._seq - self._delivered_seq - 1
                self._delivered_seq = self._seq
                index = self._delivered
                self._delivered += 1
                meta = {"source": self._name, "dropped": dropped}
                return Frame(rgb=rgb, timestamp_s=ts, index=index, meta=meta)
            if self._error is not None:
                raise CameraLost(f"camera {self._name} lost: {self._error}")
            if not self._thread.is_alive() and not self._stop.is_set():
                raise CameraLost(f"camera {self._name} lost: capture thread ended")
            silent = self._clock.now() - self._last_frame_at
        if silent > self._frame_timeout_s:
            raise CameraLost(f"camera {self._name} lost: no frame for {silent:.1f} s")
        return None

    def stop(self, join_timeout_s: float = 2.0) -> None:
        """Ask the thread to end and wait up to ``join_timeout_s`` real seconds. A driver stuck in a
        read keeps its (daemon) thread; the device is released as soon as that read returns."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(join_timeout_s)
            if self._thread.is_alive():
                log.warning("capture thread of %s did not stop within %.1f s", self._name, join_timeout_s)
