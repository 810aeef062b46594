"""GStreamer pipelines through OpenCV (``CAP_GSTREAMER``): the Jetson CSI camera and friends.

The default pipeline (see :class:`~kiosk.config.camera.GstCamera`) reads the CSI sensor with
``nvarguscamerasrc`` and converts to BGR in ``appsink``. Any pipeline ending in ``appsink`` works,
e.g. ``filesrc location=clip.mp4 ! decodebin ! videoconvert ! appsink``. Needs an OpenCV built
with GStreamer: JetPack's system OpenCV has it; the PyPI ``opencv-python`` wheels do not.
"""

from __future__ import annotations

import logging

from kiosk.camera.opencv_source import CaptureSource
from kiosk.clock import Clock
from kiosk.config.camera import GstCamera
from kiosk.errors import CameraError, CameraLost

log = logging.getLogger(__name__)


def opencv_has_gstreamer() -> bool:
    """True when this OpenCV build can open GStreamer pipelines."""
    import cv2

    try:
        return bool(cv2.videoio_registry.hasBackend(cv2.CAP_GSTREAMER))
    except AttributeError:  # very old OpenCV: fall back to the build summary
        info = cv2.getBuildInformation()
        return any(line.strip().startswith("GStreamer:") and "YES" in line for line in info.splitlines())


class GstSource(CaptureSource):
    """A live GStreamer pipeline read through OpenCV."""

    def __init__(self, cfg: GstCamera, clock: Clock) -> None:
        self._cfg = cfg
        head = cfg.pipeline.split("!", 1)[0].strip()
        super().__init__(f"gst:{head}", cfg.width_px, cfg.height_px, cfg.fps, clock)

    def open(self) -> None:
        import cv2

        if self._is_open:
            return
        if not opencv_has_gstreamer():
            raise CameraError(
                "this OpenCV build has no GStreamer support (cv2.getBuildInformation() says GStreamer: NO). "
                "On Jetson use JetPack's OpenCV (apt: python3-opencv, nvidia-opencv) in a venv created with "
                "--system-site-packages, or pick another camera type",
                code="camera_unsupported",
            )
        if "appsink" not in self._cfg.pipeline:
            raise CameraError(
                "a gst pipeline must end in 'appsink' so OpenCV can pull frames", code="camera_config_invalid"
            )
        cap = cv2.VideoCapture(self._cfg.pipeline, cv2.CAP_GSTREAMER)
        if not cap.isOpened():
            cap.release()
            raise CameraLost(f"cannot start GStreamer pipeline {self._cfg.pipeline!r} (camera absent/busy)")
        self._start(cap, self._cfg.fps, self._cfg.frame_timeout_s, driver_timestamps=False)
