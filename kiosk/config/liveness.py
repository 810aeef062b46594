"""Liveness: challenge pool, counts, timeouts, detector thresholds, identity continuity, spoof defences.

Thresholds were measured on the real clips in ../shared/data (see docs/liveness.md); ratios of
landmark distances are in units of the applicant's inter-ocular distance (IOD: outer eye corners).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from kiosk.config.base import Section

ChallengeName = Literal["blink", "smile", "turn_left", "turn_right", "nod", "mouth_open"]


class Thresholds(Section):
    blink_close_ratio: float = Field(
        0.4, gt=0, lt=1, description="Eye counts as closed below this fraction of the applicant's open level"
    )
    blink_open_ratio: float = Field(
        0.6, gt=0, lt=1, description="Eye counts as open again above this fraction of the open level"
    )
    blink_max_closed_s: float = Field(
        0.5, gt=0, le=3, description="A closure longer than this is not a blink (s)"
    )
    smile_score: float = Field(
        0.55,
        gt=0,
        le=1,
        description="Smile blendshape above the neutral baseline by this (mouth not wide open)",
    )
    turn_yaw_deg: float = Field(20.0, ge=5, le=80, description="Head turn of at least this many degrees")
    nod_pitch_deg: float = Field(
        12.0, ge=3, le=60, description="Nod: pitch swing (down or up) and back of this much (degrees)"
    )
    nod_max_s: float = Field(
        3.0, gt=0, le=10, description="A nod goes out and comes back within this time (s)"
    )
    mouth_open_score: float = Field(
        0.4,
        gt=0,
        le=1,
        description="Mouth opening (jaw-open blendshape or lip gap / width) above rest by this",
    )
    neutral_hold_s: float = Field(
        0.3, ge=0, le=5, description="A response must start from a neutral pose held this long"
    )
    action_hold_s: float = Field(
        0.1, ge=0, le=2, description="Smile, open mouth and turn must be held at least this long (s)"
    )


class ContinuityConfig(Section):
    max_track_gap_s: float = Field(0.5, ge=0, le=10, description="Face may be lost at most this long (s)")
    reembed_max_angle_deg: float = Field(
        20.0,
        ge=5,
        le=90,
        description="Re-embed only near-frontal frames: |yaw| and |pitch| at most this (deg); the ID "
        "portrait is frontal and a turned face embeds poorly",
    )
    max_turned_gap_s: float = Field(
        2.5,
        ge=0,
        le=10,
        description="... or this long when it was last seen turned toward profile (the landmarker loses "
        "faces past about 50 deg); a re-embedding is asked for as soon as it is back",
    )
    profile_yaw_deg: float = Field(
        25.0,
        ge=10,
        le=90,
        description="Turning toward profile: last seen with yaw at least this far from frontal (degrees)",
    )
    reembed_interval_s: float = Field(1.0, gt=0, le=30, description="Re-embed the live face this often (s)")
    min_reembed_samples: int = Field(2, ge=1, le=50, description="At least this many re-match samples")
    reembed_wait_s: float = Field(
        4.0,
        gt=0,
        le=60,
        description="After the last challenge, wait this long for missing re-match samples (s)",
    )
    second_face_min_s: float = Field(
        0.2, ge=0, le=5, description="A second face seen this long fails the session (s; 0 = first frame)"
    )
    max_jump_fw: float = Field(
        0.3, gt=0, le=5, description="Face centre may jump at most this many face widths between frames"
    )
    max_speed_fw_per_s: float = Field(
        3.0, gt=0, le=50, description="... plus this many face widths per second of time between the frames"
    )
    max_scale_jump: float = Field(
        0.3, gt=0, le=3, description="Face width may change at most this much between frames (abs. log ratio)"
    )


class SpoofConfig(Section):
    planar_residual_max: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Flat photo: landmark change left by the best homography over that left by the best "
        "similarity stays below this (relative residual) while the face deforms",
    )
    planar_deform_min: float = Field(
        0.05,
        gt=0,
        le=1,
        description="Frames whose landmarks deformed at least this much (IOD units) are judged",
    )
    planar_min_frames: int = Field(
        3, ge=1, le=300, description="Judge planarity once this many frames deformed"
    )
    parallax_min: float = Field(
        0.03, ge=0, le=1, description="A turn or nod counts only with this much 3-D parallax (IOD units)"
    )
    min_motion_px: float = Field(
        0.35,
        ge=0,
        le=50,
        description="A face steadier than this is a still photo: landmark RMS motion in px per 100 px of IOD",
    )
    static_window_s: float = Field(2.5, gt=0, le=30, description="Window for the still-photo check (s)")
    screen_replay_check: bool = Field(True, description="Use moire/flicker/bezel signals")
    bezel_min_sides: int = Field(
        3,
        ge=2,
        le=4,
        description="Straight edges close around the face on this many sides mean a screen/print",
    )
    bezel_min_s: float = Field(0.5, ge=0, le=10, description="... seen for at least this long (s)")


def _all_challenges() -> list[ChallengeName]:
    return ["blink", "smile", "turn_left", "turn_right", "nod", "mouth_open"]


class LivenessConfig(Section):
    challenges: list[ChallengeName] = Field(
        default_factory=_all_challenges,
        min_length=1,
        description="The pool challenges are drawn from",
    )
    count: int = Field(3, ge=1, le=6, description="How many challenges per session")
    blink_count_min: int = Field(
        2, ge=2, le=4, description="Blink challenges ask for at least this many blinks"
    )
    blink_count_max: int = Field(3, ge=2, le=4, description="... and at most this many")
    challenge_timeout_s: float = Field(8.0, gt=0, le=60, description="Time allowed per challenge (s)")
    baseline_s: float = Field(
        0.6, gt=0, le=5, description="Neutral phase before the first prompt: eyes-open and mouth levels (s)"
    )
    baseline_timeout_s: float = Field(
        8.0, gt=0, le=60, description="Fail when no steady neutral face was seen this long (s)"
    )
    baseline_max_angle_deg: float = Field(
        25.0, gt=0, le=60, description="Baseline frames: head within this many degrees of frontal"
    )
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
        if self.thresholds.blink_open_ratio <= self.thresholds.blink_close_ratio:
            raise ValueError("thresholds.blink_open_ratio must be above blink_close_ratio")
        return self
