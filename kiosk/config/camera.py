"""Camera section: one model per source type, picked by ``type``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from kiosk.config.base import Section


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


class OpenCVCamera(_CameraBase):
    type: Literal["opencv"] = "opencv"
    device: int = Field(0, ge=0, le=63, description="V4L2 device index (/dev/videoN)")


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


class DirCamera(_CameraBase):
    type: Literal["dir"] = "dir"
    path: str = Field(..., min_length=1, description="Folder of images played in name order")
    realtime: bool = Field(True, description="Pace frames at fps")
    loop: bool = Field(False, description="Start again at the end")


class ActorCamera(_CameraBase):
    type: Literal["actor"] = "actor"
    scenario: str = Field(..., min_length=1, description="Scenario YAML for the virtual applicant")
    realtime: bool = Field(True, description="Pace frames at the clips' own rate")


CameraConfig = Annotated[
    OpenCVCamera | Picamera2Camera | GstCamera | FileCamera | DirCamera | ActorCamera,
    Field(discriminator="type"),
]
