"""Connects a liveness session to the engine: frames in, ``LivenessUpdate`` events out."""

from __future__ import annotations

import random
import threading
from typing import Any

import numpy as np

from kiosk.flow import events as ev


class LivenessLink:
    """Owns one :class:`~kiosk.liveness.session.LivenessSession` for the current attempt."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self._lock = threading.Lock()  # frames arrive on the perception thread, samples on the main loop

    @property
    def challenge_names(self) -> list[str]:
        return list(self.session.challenge_names)

    def update(self, obs: Any, rgb: np.ndarray | None = None) -> ev.LivenessUpdate:
        with self._lock:
            st = self.session.update(obs, rgb)
        detail: dict[str, Any] = {
            "current_index": st.challenge_index + (1 if st.challenge is not None else 0),
            "total": st.challenges_total,
            "current_count": st.challenge.count if st.challenge is not None else None,
        }
        if st.finished:
            with self._lock:
                detail = {**_record_safe(self.session.detail()), **detail}
        return ev.LivenessUpdate(
            timestamp_s=st.timestamp_s,
            phase=st.phase,
            challenge=st.challenge_name,
            progress=float(st.progress),
            time_left_s=st.time_left_s,
            hint=st.hint.value if st.hint is not None else None,
            reason=st.reason,
            embed_request=bool(st.embed_request),
            detail=detail,
        )

    def embedding_failed(self, timestamp_s: float) -> None:
        with self._lock:
            self.session.embedding_failed(timestamp_s)

    def add_match_sample(self, timestamp_s: float, matched: bool, distance: float) -> None:
        with self._lock:
            self.session.add_match_sample(timestamp_s, matched, distance)


def _record_safe(d: dict[str, Any]) -> dict[str, Any]:
    """Counts named ``*_frames`` read like image data to the record's biometric guard; rename them."""
    return {(k[: -len("_frames")] + "_frame_count" if k.endswith("_frames") else k): v for k, v in d.items()}


def start_liveness(cfg: Any, seed: int, *, mirrored: bool) -> LivenessLink:
    """Draw this attempt's challenges from ``random.Random(seed)`` and start a session."""
    from kiosk.liveness.screen import ScreenMonitor
    from kiosk.liveness.sequence import draw_challenges
    from kiosk.liveness.session import LivenessSession

    challenges = draw_challenges(random.Random(seed), cfg.liveness)
    screen = ScreenMonitor(cfg.liveness.spoof) if cfg.liveness.spoof.screen_replay_check else None
    return LivenessLink(LivenessSession(cfg.liveness, challenges, mirrored=mirrored, screen=screen))
