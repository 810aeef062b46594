"""Session-wide timeouts, retries and lockout."""

from __future__ import annotations

from pydantic import Field

from kiosk.config.base import Section


class SessionConfig(Section):
    timeout_s: float = Field(300.0, gt=0, le=3600, description="Whole session limit, consent to result (s)")
    retries: int = Field(1, ge=0, le=5, description="Retries of a failed face capture, match or challenge")
    result_display_s: float = Field(8.0, gt=0, le=120, description="Result screen stays this long (s)")
    lockout_after_failures: int = Field(
        3, ge=1, le=100, description="Consecutive rejected sessions before the kiosk locks"
    )
    lockout_s: float = Field(300.0, ge=0, le=86400, description="How long the lockout lasts (s)")
    failsafe_display_s: float = Field(10.0, gt=0, le=600, description="Failsafe screen before restarting (s)")
