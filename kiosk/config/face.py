"""Face capture quality gates and matching."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kiosk.config.base import Section


class CaptureGates(Section):
    min_face_px: int = Field(120, ge=40, le=2000, description="Live face box, shorter side, at least (px)")
    min_sharpness: float = Field(40.0, ge=0, description="Laplacian variance of the live face, at least")
    min_brightness: float = Field(50.0, ge=0, le=255, description="Mean grey level of the face, at least")
    max_brightness: float = Field(215.0, ge=0, le=255, description="Mean grey level of the face, at most")
    max_yaw_deg: float = Field(15.0, ge=0, le=60, description="Head turned at most this much (degrees)")
    max_pitch_deg: float = Field(
        15.0, ge=0, le=60, description="Head tilted up/down at most this much (degrees)"
    )
    hold_still_s: float = Field(0.8, ge=0, le=10, description="Gates must hold this long before capture (s)")
    timeout_s: float = Field(30.0, gt=0, le=300, description="Time allowed to get a good live face (seconds)")


class MatchConfig(Section):
    model: Literal["int8", "fp16", "fp32"] = Field("int8", description="Which TFLite face embedder to load")
    num_threads: int = Field(2, ge=1, le=16, description="LiteRT CPU threads for the embedder")
    fmr_target: float = Field(
        1e-3,
        gt=0,
        lt=1,
        description="Target false-match rate; threshold null: use the manifest's threshold calibrated for it",
    )
    threshold: float | None = Field(
        None,
        gt=0,
        le=2,
        description="Euclidean distance threshold; null uses the manifest's value calibrated for fmr_target",
    )
    document_threshold: float | None = Field(
        None,
        gt=0,
        le=2,
        description="Threshold for a scanned ID portrait against a live face; null uses the manifest's",
    )


class StillSelfieRules(Section):
    """A selfie given as a still image (``ekyc-kiosk verify``, uploads), not a live camera frame."""

    min_face_px: int = Field(48, ge=16, le=2000, description="Selfie face box, shorter side, at least (px)")
    min_sharpness: float = Field(15.0, ge=0, description="Laplacian variance of the selfie face, at least")
    other_face_area_ratio: float = Field(
        0.1,
        gt=0,
        le=1,
        description="A second face at least this fraction of the main face's area makes the selfie unusable",
    )


class FaceConfig(Section):
    capture: CaptureGates = Field(default_factory=CaptureGates)
    match: MatchConfig = Field(default_factory=MatchConfig)
    still: StillSelfieRules = Field(default_factory=StillSelfieRules)
