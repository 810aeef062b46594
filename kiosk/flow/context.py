"""The engine's context: an immutable record of the current session and the kiosk's standing state."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class StaticInfo:
    """Facts fixed for the kiosk's run, copied into every decision record."""

    kiosk_id: str = "kiosk-dev"
    model_sha256: dict[str, str] = field(default_factory=dict)
    config_sha256: str = ""
    app_version: str = ""


@dataclass(frozen=True)
class Context:
    static: StaticInfo = field(default_factory=StaticInfo)
    # kiosk-wide
    camera_ok: bool = True
    service_ok: bool = True
    service_reason: str | None = None
    consecutive_rejections: int = 0
    lockout_until: float | None = None
    state_since: float = 0.0
    # per session
    session_id: str | None = None
    seed: int | None = None
    session_started: float | None = None
    retries_left: int = 0
    attempts: int = 0
    gates_ok_since: float | None = None
    hint: str | None = None
    document: dict[str, Any] | None = None
    match: dict[str, Any] | None = None
    liveness: dict[str, Any] = field(default_factory=dict)
    challenge: str | None = None
    progress: float = 0.0
    time_left_s: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    decision: str | None = None
    reasons: tuple[str, ...] = ()
    fault: str | None = None

    def evolve(self, **changes: Any) -> Context:
        return replace(self, **changes)

    def fresh_session(self) -> Context:
        """Same kiosk-wide facts, no session data."""
        return Context(
            static=self.static,
            camera_ok=self.camera_ok,
            service_ok=self.service_ok,
            service_reason=self.service_reason,
            consecutive_rejections=self.consecutive_rejections,
            lockout_until=self.lockout_until,
            state_since=self.state_since,
        )
