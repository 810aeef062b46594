"""Document step: upload limits, kiosk auto-capture, portrait requirements."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kiosk.config.base import Section


class UploadLimits(Section):
    max_bytes: int = Field(25_000_000, ge=1_000, le=500_000_000, description="Largest accepted file (bytes)")
    max_pixels: int = Field(
        60_000_000, ge=10_000, le=400_000_000, description="Largest accepted image (width x height pixels)"
    )
    drop_folder: str | None = Field(
        None, description="Folder (or USB mount) watched for an uploaded ID image at the kiosk; null: off"
    )


class AutoCapture(Section):
    steady_s: float = Field(
        1.0, ge=0.1, le=10, description="Document held steady this long before capture (s)"
    )
    max_motion_px: float = Field(
        6.0,
        gt=0,
        le=100,
        description="Largest corner movement between frames that still counts as steady (px)",
    )
    min_area_frac: float = Field(
        0.25, gt=0, le=1, description="Document must cover at least this fraction of the frame"
    )
    min_sharpness: float = Field(60.0, ge=0, description="Laplacian variance of the document, at least")
    max_glare_frac: float = Field(
        0.02, ge=0, le=1, description="Largest fraction of saturated pixels allowed over the portrait"
    )
    analysis_width_px: int = Field(
        640,
        ge=160,
        le=1920,
        description="Frames are analysed at this width; max_motion_px is in these pixels",
    )
    max_tilt_deg: float = Field(
        25.0,
        ge=5,
        le=45,
        description="Largest deviation of a document corner from 90 degrees (held too slanted)",
    )
    min_brightness: float = Field(45.0, ge=0, le=255, description="Mean grey level of the document, at least")
    face_check_interval_s: float = Field(
        0.3, ge=0, le=5, description="Look for the portrait on the steady document at most this often (s)"
    )
    photo_side_after_s: float = Field(
        1.5,
        ge=0.2,
        le=30,
        description="Steady document with no portrait this long: ask for the photo side (s)",
    )


class PortraitRules(Section):
    min_face_px: int = Field(40, ge=16, le=1000, description="Portrait face box, shorter side, at least (px)")
    min_sharpness: float = Field(15.0, ge=0, description="Laplacian variance of the portrait, at least")
    margin_frac: float = Field(
        0.35, ge=0, le=2, description="Margin added around the portrait crop (fraction)"
    )
    ghost_max_area_ratio: float = Field(
        0.5,
        gt=0,
        le=1,
        description="A second face smaller than this fraction of the main portrait's area is a ghost image",
    )


class StillImage(Section):
    rectify: bool = Field(
        True, description="Perspective-correct an uploaded photo when the document's edges are found"
    )
    min_area_frac: float = Field(
        0.2,
        gt=0,
        le=1,
        description="A document outline must cover at least this fraction of an uploaded image",
    )
    px_per_mm: float = Field(
        12.0, ge=4, le=40, description="Resolution of a rectified document (pixels per mm)"
    )
    min_face_search_px: int = Field(
        20,
        ge=8,
        le=400,
        description="Smallest face the detector searches for on a document (px, shorter side)",
    )


class DocumentConfig(Section):
    mode: Literal["upload", "camera", "either"] = Field(
        "either",
        description="How the kiosk gets the ID: uploaded file, camera auto-capture, or whichever first",
    )
    timeout_s: float = Field(90.0, gt=0, le=900, description="Time allowed for the document step (seconds)")
    upload: UploadLimits = Field(default_factory=UploadLimits)
    capture: AutoCapture = Field(default_factory=AutoCapture)
    portrait: PortraitRules = Field(default_factory=PortraitRules)
    still: StillImage = Field(default_factory=StillImage)
