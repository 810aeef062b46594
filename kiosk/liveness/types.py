"""Typed values shared by the liveness modules: challenge names, states, reasons, hints, results."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Challenge(str, enum.Enum):
    """What the applicant is asked to do. Turn directions are the applicant's OWN left and right."""

    BLINK = "blink"
    SMILE = "smile"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    NOD = "nod"
    MOUTH_OPEN = "mouth_open"


class LivenessState(str, enum.Enum):
    """Overall state of a :class:`~kiosk.liveness.session.LivenessSession` (values match the engine's
    ``LivenessUpdate.phase``)."""

    BASELINE = "baseline"
    ACTIVE = "active"
    PASSED = "passed"
    FAILED = "failed"


class Reason(str, enum.Enum):
    """Stable failure codes (go into decision records)."""

    CHALLENGE_TIMEOUT = "challenge_timeout"
    BASELINE_TIMEOUT = "baseline_timeout"
    SECOND_FACE = "second_face"
    FACE_LOST = "face_lost"
    FACE_JUMP = "face_jump"
    STATIC_PHOTO = "static_photo"
    PLANAR_MOTION = "planar_motion"
    SCREEN_REPLAY = "screen_replay"
    IDENTITY_MISMATCH = "identity_mismatch"
    REEMBED_MISSING = "reembed_missing"


class Hint(str, enum.Enum):
    """What the UI should tell the applicant now (one string table entry each)."""

    LOOK_AT_CAMERA = "look_at_camera"
    HOLD_STILL = "hold_still"
    ONLY_ONE_FACE = "only_one_face"
    RELAX = "relax"  # return to a neutral face first: the response must start after the prompt
    BLINK = "blink"
    BLINK_AGAIN = "blink_again"
    BLINK_SHORTER = "blink_shorter"
    SMILE = "smile"
    SMILE_MORE = "smile_more"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    TURN_FURTHER = "turn_further"
    TURN_OTHER_WAY = "turn_other_way"
    NOD = "nod"
    NOD_BACK = "nod_back"
    OPEN_MOUTH = "open_mouth"
    OPEN_WIDER = "open_wider"
    WELL_DONE = "well_done"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class ChallengeSpec:
    """One drawn challenge. ``count`` is the number of blinks asked for (1 for every other challenge);
    ``timeout_s`` is the time allowed from its prompt (seconds)."""

    name: Challenge
    count: int = 1
    timeout_s: float = 8.0

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name.value, "count": self.count, "timeout_s": self.timeout_s}


@dataclass(frozen=True)
class Event:
    """An action seen in a window of signals, with start and end seconds.

    ``event`` is one of blink, eyes_closed_long, smile, turn_left, turn_right, nod, mouth_open,
    no_face, multiple_faces. ``peak`` is the action's strongest value (blink: lowest eye openness
    ratio; smile/mouth_open: score above baseline; turn: yaw in degrees from baseline; nod: pitch
    in degrees from baseline). ``image_direction`` is set for turns (``nose_to_image_left`` /
    ``nose_to_image_right``) and nods (``down_first`` / ``up_first``).
    """

    event: str
    start_s: float
    end_s: float
    peak: float = 0.0
    image_direction: str | None = None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "event": self.event,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "peak": round(self.peak, 3),
        }
        if self.image_direction is not None:
            d["image_direction"] = self.image_direction
        return d


@dataclass(frozen=True)
class DetectorResult:
    """What a challenge detector concluded over its window.

    ``progress`` 0..1; ``done`` when the challenge is met; ``failed`` with ``reason`` when the
    window shows an attack (e.g. a turn without 3-D parallax); ``hint`` for the UI; ``events``: the
    counted actions; ``armed_s``: when the neutral hold after the prompt completed (None: not yet).
    """

    progress: float = 0.0
    done: bool = False
    failed: bool = False
    reason: str | None = None
    hint: Hint | None = None
    events: tuple[Event, ...] = ()
    armed_s: float | None = None
    done_s: float | None = None


@dataclass(frozen=True)
class ChallengeOutcome:
    """Record of one challenge once it ended (for the decision record; no biometric data)."""

    name: str
    count: int
    prompt_s: float
    armed_s: float | None
    done_s: float | None
    passed: bool
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "count": self.count,
            "prompt_s": round(self.prompt_s, 3),
            "armed_s": None if self.armed_s is None else round(self.armed_s, 3),
            "done_s": None if self.done_s is None else round(self.done_s, 3),
            "passed": self.passed,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class LivenessStatus:
    """The session's answer to one frame.

    ``state``: BASELINE, ACTIVE, PASSED or FAILED; ``reason``: failure code (FAILED only).
    ``challenge``: the current challenge (None outside ACTIVE), ``challenge_index`` 0-based of
    ``challenges_total``; ``progress`` 0..1 of the current challenge; ``time_left_s`` before its
    timeout; ``hint``: UI hint code; ``arrow``: for turn challenges, which way an on-screen arrow
    should point (``screen_left``/``screen_right``, taking the preview's mirroring into account).
    ``embed_request``: embed the live face of THIS frame and hand the verdict back through
    ``add_match_sample(timestamp_s, ...)``. ``prompt_s``: when the current prompt started.
    ``samples``/``samples_needed``: re-embedding samples received / required.
    """

    timestamp_s: float
    state: LivenessState
    reason: str | None = None
    challenge: ChallengeSpec | None = None
    challenge_index: int = 0
    challenges_total: int = 0
    progress: float = 0.0
    time_left_s: float | None = None
    hint: Hint | None = None
    arrow: str | None = None
    embed_request: bool = False
    prompt_s: float | None = None
    samples: int = 0
    samples_needed: int = 0
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def phase(self) -> str:
        return self.state.value

    @property
    def challenge_name(self) -> str | None:
        return None if self.challenge is None else self.challenge.name.value

    @property
    def finished(self) -> bool:
        return self.state in (LivenessState.PASSED, LivenessState.FAILED)
