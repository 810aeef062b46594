"""Events fed to the engine. Frozen dataclasses; none carries an image or a face template."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Tick:
    """Nothing happened; lets timeouts fire."""


@dataclass(frozen=True)
class StartPressed:
    """The applicant touched the screen / pressed a key on the attract screen (or headless auto-start).

    ``session_id`` and ``seed`` come from the app so the engine stays pure.
    """

    session_id: str
    seed: int


@dataclass(frozen=True)
class ConsentAnswered:
    accepted: bool


@dataclass(frozen=True)
class CancelPressed:
    """The applicant asked to stop."""


@dataclass(frozen=True)
class DocumentAccepted:
    """The ID portrait was found. ``info``: box, quality, rectified, source (upload/camera)."""

    info: dict[str, Any]


@dataclass(frozen=True)
class DocumentRefused:
    code: str
    message: str


@dataclass(frozen=True)
class FaceSeen:
    """Summary of one perceived frame during face capture.

    ``face_count``: faces in the frame. ``gates_ok``: every capture quality gate passed.
    ``hint``: a UI hint code when a gate failed (``move_closer``, ``hold_still``...). ``quality``: numbers.
    """

    timestamp_s: float
    face_count: int
    gates_ok: bool
    hint: str | None = None
    quality: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class MatchResult:
    """Worker result of embedding a live face and comparing it to the ID portrait.

    ``purpose``: ``capture`` (the step-2 decision) or ``reembed`` (a sample during the challenges).
    ``distance``: Euclidean distance between embeddings (dlib scale); ``threshold``: the decision threshold.
    """

    purpose: str
    timestamp_s: float
    distance: float
    threshold: float
    matched: bool


@dataclass(frozen=True)
class MatchFailed:
    """The worker could not embed the live face (no face in the chosen frame, model error...)."""

    purpose: str
    code: str
    message: str
    timestamp_s: float | None = None


@dataclass(frozen=True)
class LivenessUpdate:
    """The liveness session's status after a frame.

    ``phase``: baseline | active | passed | failed. ``challenge``: current challenge name.
    ``reason``: failure code. ``detail``: per-challenge outcomes and timings for the record.
    """

    timestamp_s: float
    phase: str
    challenge: str | None = None
    progress: float = 0.0
    time_left_s: float | None = None
    hint: str | None = None
    reason: str | None = None
    embed_request: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CameraLost:
    message: str = "camera lost"


@dataclass(frozen=True)
class CameraBack:
    pass


@dataclass(frozen=True)
class ServiceCheck:
    """Result of the app's pre-session checks (disk space...). ``ok`` False keeps the kiosk out of service."""

    ok: bool
    reason: str | None = None


@dataclass(frozen=True)
class Fault:
    """An unexpected error somewhere in the app; leads to the failsafe state."""

    code: str
    message: str


Event = (
    Tick
    | StartPressed
    | ConsentAnswered
    | CancelPressed
    | DocumentAccepted
    | DocumentRefused
    | FaceSeen
    | MatchResult
    | MatchFailed
    | LivenessUpdate
    | CameraLost
    | CameraBack
    | ServiceCheck
    | Fault
)
