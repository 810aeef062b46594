"""Kiosk states. One UI scene per state."""

from __future__ import annotations

import enum


class State(enum.Enum):
    ATTRACT = "attract"
    CONSENT = "consent"
    DOCUMENT = "document"
    FACE_CAPTURE = "face_capture"
    MATCHING = "matching"
    CHALLENGES = "challenges"
    RESULT = "result"
    LOCKED = "locked"
    OUT_OF_SERVICE = "out_of_service"
    FAILSAFE = "failsafe"


# States that belong to a running applicant session (a session timeout or camera loss aborts them).
SESSION_STATES = frozenset(
    {State.CONSENT, State.DOCUMENT, State.FACE_CAPTURE, State.MATCHING, State.CHALLENGES}
)


class Decision(enum.Enum):
    APPROVED = "approved"
    REJECTED = "rejected"
    ABORTED = "aborted"
