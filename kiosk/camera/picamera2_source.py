"""Raspberry Pi CSI cameras through libcamera's ``picamera2`` (imported only here, only on open).

picamera2 comes from Raspberry Pi OS's apt repository (``python3-picamera2``), not from PyPI wheels
that work everywhere: create the venv with ``--system-site-packages`` so the kiosk sees it.
Frames are requested in libcamera's ``BGR888`` format, which is R, G, B byte order in memory (the
names follow DRM fourcc conventions), so no channel swap is needed. Timestamps come from the
request's ``SensorTimestamp`` (ns), mapped onto the injected clock.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from kiosk.camera.frame import Frame
from kiosk.camera.grabber import GrabResult, LatestFrameGrabber
from kiosk.camera.source import DEFAULT_READ_TIMEOUT_S, SourceBase, SourceInfo
from kiosk.clock import Clock
from kiosk.config.camera import Picamera2Camera
from kiosk.errors import CameraError, CameraLost

log = logging.getLogger(__name__)

APT_PACKAGE = "python3-picamera2"
INSTALL_HINT = (
    f"picamera2 is not installed or not visible to this Python. On Raspberry Pi OS: "
    f"`sudo apt install {APT_PACKAGE}`, then create the venv with `python3 -m venv --system-site-packages`"
)


def import_picamera2() -> Any:
    """The ``Picamera2`` class, or a CameraError naming the apt package to install."""
    try:
        from picamera2 import Picamera2
    except ImportError as exc:
        raise CameraError(f"{INSTALL_HINT} ({exc})", code="camera_driver_missing") from None
    return Picamera2


class Picamera2Source(SourceBase):
    """A libcamera camera (Raspberry Pi Camera Module 2/3, HQ camera...)."""

    def __init__(self, cfg: Picamera2Camera, clock: Clock) -> None:
        self._cfg = cfg
        self._clock = clock
        self._cam: Any = None
        self._grabber: LatestFrameGrabber | None = None
        self._name = f"picamera2:{cfg.camera_num}"
        self._info = SourceInfo(self._name, cfg.width_px, cfg.height_px, cfg.fps, is_live=True)

    @property
    def info(self) -> SourceInfo:
        return self._info

    def open(self) -> None:
        if self._is_open:
            return
        picamera2_cls = import_picamera2()
        cfg = self._cfg
        try:
            cam = picamera2_cls(cfg.camera_num)
        except (RuntimeError, IndexError, OSError) as exc:
            raise CameraLost(f"no libcamera camera #{cfg.camera_num} ({exc}); check the cable") from None
        try:
            config = cam.create_video_configuration(
                main={"size": (cfg.width_px, cfg.height_px), "format": "BGR888"},
                controls={"FrameRate": float(cfg.fps)},
                buffer_count=4,
            )
            cam.configure(config)
            cam.start()
        except Exception as exc:  # libcamera reports everything as RuntimeError/ValueError
            cam.close()
            raise CameraLost(f"camera {self._name} could not start: {exc}") from None
        self._cam = cam

        def grab() -> GrabResult:
            request = cam.capture_request()
            try:
                arr = request.make_array("main")
                meta = request.get_metadata()
            finally:
                request.release()
            rgb = np.ascontiguousarray(arr[:, :, :3])
            ns = meta.get("SensorTimestamp")
            return rgb, (ns / 1e9 if ns else None)

        def release() -> None:
            try:
                cam.stop()
            finally:
                cam.close()

        grabber = LatestFrameGrabber(self._name, grab, release, self._clock, cfg.frame_timeout_s)
        grabber.start()
        self._grabber = grabber
        self._is_open = True
        log.info("opened %s at %dx%d", self._name, cfg.width_px, cfg.height_px)

    def read(self, timeout_s: float = DEFAULT_READ_TIMEOUT_S) -> Frame | None:
        if self._grabber is None:
            raise CameraError(f"{self._name}: read() before open() or after close()")
        frame = self._grabber.read(timeout_s)
        if frame is not None and frame.index == 0:
            self._info = SourceInfo(self._name, frame.width, frame.height, self._cfg.fps, is_live=True)
        return frame

    def close(self) -> None:
        grabber, self._grabber = self._grabber, None
        self._cam = None
        self._is_open = False
        if grabber is not None:
            grabber.stop()
