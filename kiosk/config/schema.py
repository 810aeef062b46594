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
    camera: CameraConfig = Field(default_factory=OpenCVCamera, description="Camera source, picked by type")
    display: DisplayConfig = Field(default_factory=DisplayConfig, description="Screen, preview and text size")
    consent: ConsentConfig = Field(
        default_factory=ConsentConfig, description="Consent step before any image is taken"
    )
    document: DocumentConfig = Field(
        default_factory=DocumentConfig,
        description="Step 1: ID document upload or auto-capture, portrait rules",
    )
    face: FaceConfig = Field(
        default_factory=FaceConfig,
        description="Step 2: live face quality gates and matching to the ID portrait",
    )
    liveness: LivenessConfig = Field(
        default_factory=LivenessConfig,
        description="Step 3: challenges, detector thresholds, identity continuity",
    )
    session: SessionConfig = Field(
        default_factory=SessionConfig, description="Whole-session timeout, retries and lockout"
    )
    records: RecordsConfig = Field(
        default_factory=RecordsConfig,
        description="Decision records, audit log, delivery, retention and privacy",
    )
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig, description="Threads and logging")
