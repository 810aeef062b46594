"""Camera section: one model per source type, picked by ``type``.

Every source type also takes ``faults``: simulated camera faults (drop, stall, freeze, black
frames...) wrapped around the real source, for rehearsing failures like a virtual printer does.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from kiosk.config.base import Section

FaultKind = Literal["drop", "stall", "freeze", "black", "dim", "noise"]


class FaultSpec(Section):
    """One simulated camera fault, timed from the moment the source is first opened."""

    kind: FaultKind = Field(
        ...,
        description=(
            "drop: device unplugged (read and reopen fail with camera_lost); stall: no frames (the "
            "frame timeout then reports camera_lost); freeze: the last image repeats with new timestamps; "
            "black: all-black frames; dim: brightness times `level`; noise: added sensor noise of std `level`"
        ),
    )
    at_s: float = Field(..., ge=0, le=86_400, description="Start, seconds after the source is first opened")
    duration_s: float = Field(..., gt=0, le=86_400, description="How long the fault lasts (s)")
    level: float = Field(
        0.3, ge=0, le=255, description="dim: brightness factor 0..1; noise: std in grey levels; else unused"
    )


class _CameraBase(Section):
    width_px: int = Field(640, ge=160, le=4096, description="Requested frame width in pixels")
    height_px: int = Field(480, ge=120, le=4096, description="Requested frame height in pixels")
    fps: float = Field(30.0, gt=0, le=120, description="Requested frame rate (frames per second)")
    reopen_interval_s: float = Field(
        2.0, gt=0, le=60, description="After the camera is lost, try to reopen it this often (seconds)"
    )
    frame_timeout_s: float = Field(
        2.0, gt=0, le=30, description="No frame for this long counts as a lost camera (seconds)"
    )
    faults: list[FaultSpec] = Field(
        default_factory=list, max_length=64, description="Simulated camera faults (testing and demos only)"
    )
    fault_seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of the noise that faults add")


class OpenCVCamera(_CameraBase):
    type: Literal["opencv"] = "opencv"
    device: int = Field(0, ge=0, le=63, description="V4L2 device index (/dev/videoN)")
    device_path: str | None = Field(
        None,
        min_length=1,
        description="A device node (/dev/video2) or a video file read like a camera; overrides `device`",
    )


class Picamera2Camera(_CameraBase):
    type: Literal["picamera2"] = "picamera2"
    camera_num: int = Field(0, ge=0, le=3, description="libcamera camera number")


class GstCamera(_CameraBase):
    type: Literal["gst"] = "gst"
    pipeline: str = Field(
        "nvarguscamerasrc ! video/x-raw(memory:NVMM),width=1280,height=720,framerate=30/1 ! "
        "nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR ! appsink drop=1",
        min_length=1,
        description="GStreamer pipeline ending in appsink (Jetson CSI camera by default)",
    )


class FileCamera(_CameraBase):
    type: Literal["file"] = "file"
    path: str = Field(..., min_length=1, description="Video file (mp4/avi/mov/3gp/mpg/gif) to replay")
    realtime: bool = Field(True, description="Pace frames at the file's own rate (false: as fast as read)")
    loop: bool = Field(False, description="Start again at the end instead of ending the stream")
    scale_to_fit: bool = Field(
        True, description="Downscale frames to fit width_px x height_px (keeps the aspect; never upscales)"
    )


class DirCamera(_CameraBase):
    type: Literal["dir"] = "dir"
    path: str = Field(..., min_length=1, description="Folder of images played in name order")
    realtime: bool = Field(True, description="Pace frames at fps")
    loop: bool = Field(False, description="Start again at the end")
    scale_to_fit: bool = Field(
        True, description="Downscale images to fit width_px x height_px (keeps the aspect; never upscales)"
    )


class ActorCamera(_CameraBase):
    type: Literal["actor"] = "actor"
    scenario: str = Field(
        ...,
        min_length=1,
        description="Scenario YAML for the virtual applicant (a path, or a name in config/scenarios/)",
    )
    realtime: bool = Field(True, description="Pace frames at the clips' own rate")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of the actor's jitter, noise and delays")


CameraConfig = Annotated[
    OpenCVCamera | Picamera2Camera | GstCamera | FileCamera | DirCamera | ActorCamera,
    Field(discriminator="type"),
]

#: Every concrete camera model, for code that needs isinstance checks.
CameraModel = OpenCVCamera | Picamera2Camera | GstCamera | FileCamera | DirCamera | ActorCamera
