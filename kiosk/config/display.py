"""Display, language and consent sections."""

from __future__ import annotations

from pydantic import Field

from kiosk.config.base import Section


class DisplayConfig(Section):
    fullscreen: bool = Field(
        True, description="Full-screen window (the appliance); false for a laptop window"
    )
    width_px: int = Field(1280, ge=320, le=7680, description="Window/screen width in pixels")
    height_px: int = Field(720, ge=240, le=4320, description="Window/screen height in pixels")
    fps: float = Field(30.0, gt=0, le=120, description="UI refresh rate (frames per second)")
    mirror_preview: bool = Field(True, description="Show the camera preview mirrored, like a mirror")
    font_scale: float = Field(1.0, ge=0.5, le=3.0, description="Multiplier for all text sizes")
    high_contrast: bool = Field(True, description="White on near-black theme with large text")


class ConsentConfig(Section):
    required: bool = Field(True, description="Ask for consent before any image is taken")
    timeout_s: float = Field(
        60.0, gt=0, le=600, description="Back to attract when consent is not given (seconds)"
    )
    text: dict[str, str] = Field(
        default_factory=dict,
        description="Consent text per language code; empty uses the built-in text of the strings file",
    )
