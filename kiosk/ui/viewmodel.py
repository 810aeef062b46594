"""What a scene needs to draw, built purely from the engine's state and context. No pygame here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kiosk.flow.context import Context
from kiosk.flow.states import State


@dataclass(frozen=True)
class ViewModel:
    """Everything a scene draws.

    ``preview``: the newest camera frame (RGB uint8) or None; ``face_box``: (x, y, w, h) in preview pixels.
    ``mirror``: flip the preview horizontally (and the box with it). ``countdown_s``: seconds left in the
    current step, when one applies. ``progress``: 0..1 of the current challenge.
    """

    state: State
    language: str
    hint: str | None = None
    preview: np.ndarray | None = None
    face_box: tuple[float, float, float, float] | None = None
    mirror: bool = True
    countdown_s: float | None = None
    challenge: str | None = None
    challenge_count: int | None = None
    challenge_index: int = 0
    challenge_total: int = 0
    progress: float = 0.0
    decision: str | None = None
    camera_ok: bool = True
    step: int = 0


_STEP = {State.DOCUMENT: 1, State.FACE_CAPTURE: 2, State.MATCHING: 2, State.CHALLENGES: 3}


def build_view(
    state: State,
    ctx: Context,
    now: float,
    *,
    language: str,
    preview: np.ndarray | None,
    face_box: tuple[float, float, float, float] | None,
    mirror: bool,
    timeouts: dict[State, float],
) -> ViewModel:
    countdown = None
    if state in timeouts:
        countdown = max(0.0, timeouts[state] - (now - ctx.state_since))
    if state is State.CHALLENGES and ctx.time_left_s is not None:
        countdown = max(0.0, ctx.time_left_s)
    live = ctx.liveness or {}
    return ViewModel(
        state=state,
        language=language,
        hint=ctx.hint,
        preview=preview,
        face_box=face_box,
        mirror=mirror,
        countdown_s=countdown,
        challenge=ctx.challenge,
        challenge_count=live.get("current_count"),
        challenge_index=int(live.get("current_index", 0) or 0),
        challenge_total=int(live.get("total", 0) or 0),
        progress=float(ctx.progress or 0.0),
        decision=ctx.decision,
        camera_ok=ctx.camera_ok,
        step=_STEP.get(state, 0),
    )
