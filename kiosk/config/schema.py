"""The root config model. Each section lives in its own module."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kiosk.config.base import Section
from kiosk.config.camera import CameraConfig, OpenCVCamera
from kiosk.config.display import ConsentConfig, DisplayConfig
from kiosk.config.document import DocumentConfig
from kiosk.config.face import FaceConfig
from kiosk.config.liveness import LivenessConfig
from kiosk.config.records import RecordsConfig
from kiosk.config.session import SessionConfig


class RuntimeConfig(Section):
    num_threads: int = Field(2, ge=1, le=16, description="CPU threads for inference backends")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Logging level")


class KioskConfig(Section):
    language: str = Field("en", pattern=r"^[a-z]{2}$", description="UI language code (strings/<code>.yaml)")
    camera: CameraConfig = Field(default_factory=OpenCVCamera)
    display: DisplayConfig = Field(default_factory=DisplayConfig)
    consent: ConsentConfig = Field(default_factory=ConsentConfig)
    document: DocumentConfig = Field(default_factory=DocumentConfig)
    face: FaceConfig = Field(default_factory=FaceConfig)
    liveness: LivenessConfig = Field(default_factory=LivenessConfig)
    session: SessionConfig = Field(default_factory=SessionConfig)
    records: RecordsConfig = Field(default_factory=RecordsConfig)
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig)
