"""Liveness: challenge pool, counts, timeouts, detector thresholds, identity continuity."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from kiosk.config.base import Section

ChallengeName = Literal["blink", "smile", "turn_left", "turn_right", "nod", "mouth_open"]


class Thresholds(Section):
    blink_close_ratio: float = Field(
        0.55, gt=0, lt=1, description="Eye counts as closed below this fraction of the applicant's open level"
    )
    blink_max_closed_s: float = Field(
        0.5, gt=0, le=3, description="A closure longer than this is not a blink (s)"
    )
    smile_score: float = Field(
        0.45, gt=0, le=1, description="Smile blendshape above the neutral baseline by this"
    )
    turn_yaw_deg: float = Field(20.0, ge=5, le=80, description="Head turn of at least this many degrees")
    nod_pitch_deg: float = Field(10.0, ge=3, le=60, description="Nod: pitch swing down and back of this much")
    mouth_open_score: float = Field(0.35, gt=0, le=1, description="Jaw-open blendshape above neutral by this")
    neutral_hold_s: float = Field(
        0.3, ge=0, le=5, description="A response must start from a neutral pose held this long"
    )


class ContinuityConfig(Section):
    max_track_gap_s: float = Field(0.5, ge=0, le=10, description="Face may be lost at most this long (s)")
    reembed_interval_s: float = Field(1.0, gt=0, le=30, description="Re-embed the live face this often (s)")
    min_reembed_samples: int = Field(2, ge=1, le=50, description="At least this many re-match samples")


class SpoofConfig(Section):
    planar_residual_max: float = Field(
        0.012,
        gt=0,
        le=1,
        description="Landmark motion fitting one plane better than this (relative residual) means a flat photo",
    )
    min_motion_px: float = Field(
        0.6, ge=0, le=50, description="A face steadier than this (px RMS) is a still photo"
    )
    screen_replay_check: bool = Field(True, description="Use moire/flicker/bezel signals")


class LivenessConfig(Section):
    challenges: list[ChallengeName] = Field(
        default_factory=lambda: ["blink", "smile", "turn_left", "turn_right", "nod", "mouth_open"],
        min_length=1,
        description="The pool challenges are drawn from",
    )
    count: int = Field(3, ge=1, le=6, description="How many challenges per session")
    blink_count_min: int = Field(
        2, ge=2, le=4, description="Blink challenges ask for at least this many blinks"
    )
    blink_count_max: int = Field(3, ge=2, le=4, description="... and at most this many")
    challenge_timeout_s: float = Field(8.0, gt=0, le=60, description="Time allowed per challenge (s)")
    thresholds: Thresholds = Field(default_factory=Thresholds)
    continuity: ContinuityConfig = Field(default_factory=ContinuityConfig)
    spoof: SpoofConfig = Field(default_factory=SpoofConfig)

    @field_validator("challenges")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("challenge names must be unique")
        return v

    @model_validator(mode="after")
    def _counts(self) -> LivenessConfig:
        if self.blink_count_min > self.blink_count_max:
            raise ValueError("blink_count_min must not exceed blink_count_max")
        if self.count > len(self.challenges):
            raise ValueError("count must not exceed the number of challenges in the pool")
        return self
