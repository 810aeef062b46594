"""Live-camera sources: OpenCV (V4L2 or a file read like a camera), GStreamer, picamera2.

This machine has no camera; the OpenCV source is exercised on a real clip through VideoCapture,
the lost-device path on a /dev/video index that does not exist, and the driver-missing paths on
what this OpenCV build and Python actually lack.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

from kiosk.camera.factory import open_source, resilient_source
from kiosk.camera.gst_source import opencv_has_gstreamer
from kiosk.camera.source import SourceEnded
from kiosk.clock import FakeClock, MonotonicClock
from kiosk.config.camera import GstCamera, OpenCVCamera
from kiosk.errors import CameraError, CameraLost

CLIP = "liveness_videos2/lipnet_grid/bbaf2n.mpg"  # 360x288, 25 fps, 75 frames


def read_until_lost(src, max_reads: int = 500) -> tuple[list, CameraLost | None]:
    frames = []
    for _ in range(max_reads):
        try:
            f = src.read(1.0)
        except CameraLost as exc:
            return frames, exc
        if f is not None:
            frames.append(f)
    return frames, None


def test_opencv_source_reads_a_file_like_a_camera(data_dir: Path) -> None:
    clock = MonotonicClock()
    src = open_source(OpenCVCamera(device_path=str(data_dir / CLIP)), clock=clock)
    assert src.info.is_live and src.info.size == (360, 288)
    frames, lost = read_until_lost(src)
    src.close()
    assert frames, "frames before the end"
    assert lost is not None and lost.code == "camera_lost", "the end of the stream is a lost camera"
    ts = [f.timestamp_s for f in frames]
    assert all(b > a for a, b in itertools.pairwise(ts))
    assert ts[-1] <= clock.now()
    assert frames[0].rgb.shape == (288, 360, 3) and frames[0].rgb.dtype == np.uint8
    # RGB, not BGR: GRID's blue studio background has more blue than red.
    corner = frames[0].rgb[:40, :40].reshape(-1, 3).mean(axis=0)
    assert corner[2] > corner[0]


def test_opencv_missing_device_is_camera_lost_not_a_crash() -> None:
    with pytest.raises(CameraLost) as err:
        open_source("opencv:57", clock=FakeClock())
    assert "/dev/video57" in str(err.value)
    assert isinstance(err.value, CameraError)


def test_resilient_source_survives_a_missing_device() -> None:
    clock = FakeClock()
    src = resilient_source("opencv:57?reopen_interval_s=0.5", clock=clock)
    with pytest.raises(CameraLost):
        src.read()  # reported once...
    for _ in range(4):  # ...then quietly retried on the clock, never raised again
        clock.advance(0.6)
        assert src.read() is None
    assert src.losses == 1 and not src.available  # type: ignore[attr-defined]
    src.close()


@pytest.mark.skipif(not opencv_has_gstreamer(), reason="this OpenCV build has no GStreamer (cv2 build info)")
def test_gst_pipeline_reads_a_file(data_dir: Path) -> None:
    pipeline = (
        f"filesrc location={data_dir / CLIP} ! decodebin ! videoconvert ! video/x-raw,format=BGR ! appsink"
    )
    src = open_source(GstCamera(pipeline=pipeline), clock=MonotonicClock())
    frames, lost = read_until_lost(src)
    src.close()
    assert frames and lost is not None
    assert all(b.timestamp_s > a.timestamp_s for a, b in itertools.pairwise(frames))


@pytest.mark.skipif(opencv_has_gstreamer(), reason="this OpenCV build has GStreamer")
def test_gst_without_gstreamer_says_so() -> None:
    with pytest.raises(CameraError) as err:
        open_source("gst:videotestsrc ! videoconvert ! appsink", clock=FakeClock())
    assert "GStreamer" in str(err.value) and not isinstance(err.value, CameraLost)


def test_picamera2_missing_names_the_apt_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)  # as on any machine without it
    with pytest.raises(CameraError) as err:
        open_source("picamera2", clock=FakeClock())
    assert "python3-picamera2" in str(err.value)
    assert not isinstance(err.value, CameraLost), "a missing package is not a transient camera loss"


@pytest.mark.skipif(
    importlib.util.find_spec("picamera2") is None, reason="picamera2 not importable (not a Pi)"
)
def test_picamera2_opens_or_reports_no_camera() -> None:
    try:
        src = open_source("picamera2", clock=MonotonicClock())
    except CameraLost:
        return  # libcamera present, no camera attached
    try:
        frame = src.read(3.0)
        assert frame is not None and frame.rgb.ndim == 3
    finally:
        src.close()


def test_read_after_close_is_an_error_not_a_crash(data_dir: Path) -> None:
    src = open_source(OpenCVCamera(device_path=str(data_dir / CLIP)), clock=MonotonicClock())
    src.close()
    with pytest.raises(CameraError):
        src.read(0.1)
    assert not isinstance(SourceEnded("x"), CameraLost)


def test_capture_thread_watchdog_reports_a_silent_camera(data_dir: Path) -> None:
    """A driver that stops delivering without an error (a hung USB camera): after frame_timeout_s on
    the injected clock the grabber reports CameraLost. The clip's first frames are real; then the
    grab call blocks, as a hung V4L2 read does."""
    import threading

    import cv2

    from kiosk.camera.grabber import LatestFrameGrabber

    cap = cv2.VideoCapture(str(data_dir / CLIP))
    hang = threading.Event()
    delivered = []

    def grab():
        if len(delivered) >= 3:
            hang.wait(5.0)
            return None
        ok, bgr = cap.read()
        delivered.append(ok)
        return (cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), None) if ok else None

    clock = FakeClock(10.0)
    grabber = LatestFrameGrabber("hung", grab, cap.release, clock, frame_timeout_s=2.0)
    grabber.start()
    try:
        first = grabber.read(2.0)
        assert first is not None and first.meta["source"] == "hung"
        while len(delivered) < 3:
            grabber.read(0.5)
        grabber.read(0.1)
        assert grabber.read(0.05) is None, "silent, but not for long yet"
        clock.advance(2.5)
        with pytest.raises(CameraLost) as err:
            grabber.read(0.05)
        assert "no frame for" in str(err.value)
    finally:
        hang.set()
        grabber.stop()
