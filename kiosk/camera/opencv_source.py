"""USB / V4L2 cameras through OpenCV's ``VideoCapture`` (also reads a video file like a camera).

``opencv:N`` opens ``/dev/videoN`` with the V4L2 backend; ``device_path`` may name a device node or
a video file. A file read this way behaves like a camera: frames are stamped with the clock at
capture, the newest frame wins (no pacing), and the end of the file is a lost camera. Use the
``file:`` source to replay a clip at its own pace.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kiosk.camera.frame import Frame
from kiosk.camera.grabber import GrabResult, LatestFrameGrabber
from kiosk.camera.imageops import bgr_to_rgb
from kiosk.camera.source import DEFAULT_READ_TIMEOUT_S, SourceBase, SourceInfo
from kiosk.clock import Clock
from kiosk.config.camera import OpenCVCamera
from kiosk.errors import CameraError, CameraLost

log = logging.getLogger(__name__)


def start_capture(
    cap: Any, name: str, clock: Clock, frame_timeout_s: float, *, driver_timestamps: bool
) -> tuple[LatestFrameGrabber, int, int]:
    """Check ``cap`` delivers a first frame, then start its grabber thread.

    Returns the grabber and the real frame size. ``driver_timestamps``: use the backend's
    ``CAP_PROP_POS_MSEC`` (V4L2 buffer time) for spacing; otherwise stamp with the clock.
    Raises CameraLost (and releases ``cap``) when no first frame comes.
    """
    import cv2

    ok, first = cap.read()
    if not ok or first is None:
        cap.release()
        raise CameraLost(f"camera {name} opened but delivered no frame")
    height, width = first.shape[:2]

    def grab() -> GrabResult:
        ok, bgr = cap.read()
        if not ok or bgr is None:
            return None
        driver_s = None
        if driver_timestamps:
            ms = float(cap.get(cv2.CAP_PROP_POS_MSEC))
            driver_s = ms / 1000.0 if ms > 0 else None
        return bgr_to_rgb(bgr), driver_s

    grabber = LatestFrameGrabber(name, grab, cap.release, clock, frame_timeout_s)
    grabber.start()
    return grabber, width, height


class CaptureSource(SourceBase):
    """A live ``cv2.VideoCapture`` read by a :class:`LatestFrameGrabber` thread; subclasses open it."""

    def __init__(self, name: str, width_px: int, height_px: int, fps: float, clock: Clock) -> None:
        self._clock = clock
        self._grabber: LatestFrameGrabber | None = None
        self._name = name
        self._info = SourceInfo(name, width_px, height_px, fps, is_live=True)

    @property
    def info(self) -> SourceInfo:
        return self._info

    def _start(self, cap: Any, fps: float, frame_timeout_s: float, *, driver_timestamps: bool) -> None:
        self._grabber, w, h = start_capture(
            cap, self._name, self._clock, frame_timeout_s, driver_timestamps=driver_timestamps
        )
        self._info = SourceInfo(self._name, w, h, fps, is_live=True)
        self._is_open = True
        log.info("opened %s at %dx%d, %.1f fps", self._name, w, h, fps)

    def read(self, timeout_s: float = DEFAULT_READ_TIMEOUT_S) -> Frame | None:
        if self._grabber is None:
            raise CameraError(f"{self._name}: read() before open() or after close()")
        return self._grabber.read(timeout_s)

    def close(self) -> None:
        grabber, self._grabber = self._grabber, None
        self._is_open = False
        if grabber is not None:
            grabber.stop()


class OpenCVSource(CaptureSource):
    """A V4L2 camera (or a device node / video file named by ``device_path``)."""

    def __init__(self, cfg: OpenCVCamera, clock: Clock) -> None:
        self._cfg = cfg
        target = cfg.device_path if cfg.device_path else f"/dev/video{cfg.device}"
        super().__init__(f"opencv:{target}", cfg.width_px, cfg.height_px, cfg.fps, clock)

    def open(self) -> None:
        import cv2

        if self._is_open:
            return
        cfg = self._cfg
        is_file = bool(cfg.device_path) and Path(str(cfg.device_path)).is_file()
        if is_file:
            cap = cv2.VideoCapture(str(cfg.device_path))
        else:
            target: int | str = cfg.device_path if cfg.device_path else cfg.device
            cap = cv2.VideoCapture(target, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            raise CameraLost(
                f"cannot open camera {self._name}: no such device, busy, or no permission "
                "(is the kiosk user in the 'video' group? `ekyc-kiosk doctor` lists cameras)"
            )
        if not is_file:
            # MJPG lets USB 2 cameras reach 30 fps above VGA; drivers ignore what they cannot do.
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, cfg.width_px)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, cfg.height_px)
            cap.set(cv2.CAP_PROP_FPS, cfg.fps)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        # Ask the driver before the capture thread owns ``cap``.
        fps = cfg.fps if is_file else (float(cap.get(cv2.CAP_PROP_FPS)) or cfg.fps)
        self._start(cap, fps, cfg.frame_timeout_s, driver_timestamps=not is_file)
