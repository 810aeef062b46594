"""Effects the engine asks the app to carry out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BeginSession:
    session_id: str
    seed: int


@dataclass(frozen=True)
class StartDocument:
    """Start the document step (watch uploads / auto-capture from the camera)."""


@dataclass(frozen=True)
class StartFaceCapture:
    pass


@dataclass(frozen=True)
class EmbedLiveFace:
    """Embed the live face of the frame at ``timestamp_s`` (or the newest) on the worker; answer with
    MatchResult/MatchFailed carrying the same ``purpose``."""

    purpose: str
    timestamp_s: float


@dataclass(frozen=True)
class StartLiveness:
    """Start a liveness session; challenges are drawn from ``random.Random(seed)``."""

    seed: int


@dataclass(frozen=True)
class ForwardMatchSample:
    """Hand a re-embedding verdict to the liveness session."""

    timestamp_s: float
    matched: bool
    distance: float


@dataclass(frozen=True)
class RetryMatchSample:
    """The frame asked for could not be embedded (no single clear face): the liveness session asks again."""

    timestamp_s: float


@dataclass(frozen=True)
class WriteRecord:
    """Write the decision record durably before the result is shown."""

    record: dict[str, Any]


@dataclass(frozen=True)
class EndSession:
    """Wipe every per-session biometric datum (portrait, templates, frames)."""

    session_id: str


Effect = (
    BeginSession
    | StartDocument
    | StartFaceCapture
    | EmbedLiveFace
    | StartLiveness
    | ForwardMatchSample
    | RetryMatchSample
    | WriteRecord
    | EndSession
)
