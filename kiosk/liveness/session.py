"""The liveness session: baseline, prompted challenges, continuity, spoof checks, re-embedding.

Deterministic: everything depends on the observations fed in and their own timestamps (seconds);
there is no clock and no randomness inside (the challenges are drawn beforehand with
:func:`~kiosk.liveness.sequence.draw_challenges`).

Flow, frame by frame (:meth:`LivenessSession.update`):

1. BASELINE: wait for ``baseline_s`` of one steady, near-frontal face with open eyes and a resting
   mouth; its medians become the applicant's neutral levels and its most neutral frame the reference
   shape. No such phase within ``baseline_timeout_s`` fails with ``baseline_timeout``.
2. ACTIVE: the session prompts the challenges itself, in order. The first prompt starts at the frame
   that completed the baseline, each next one at the frame that completed the previous challenge
   (``status.prompt_s``). A response counts only if it starts after its prompt from a neutral state
   held ``neutral_hold_s``. Each challenge has ``timeout_s`` from its prompt (``challenge_timeout``).
3. Throughout: continuity (one face, no gap longer than ``max_track_gap_s``, no jump), the still
   photo and planar-motion checks, and the optional screen check.
4. While challenges run, ``status.embed_request`` is True every ``reembed_interval_s`` on a frame with
   exactly one face; the engine embeds that frame and calls :meth:`add_match_sample` with the
   frame's timestamp. Any non-matching sample fails at once (``identity_mismatch``). The session
   passes only when every challenge is done and at least ``min_reembed_samples`` requested samples
   came back matched; missing samples are awaited (still tracking the face) for ``reembed_wait_s``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from kiosk.config.liveness import LivenessConfig
from kiosk.liveness.baseline import Baseline, BaselineCollector
from kiosk.liveness.continuity import ContinuityMonitor
from kiosk.liveness.detectors import action_hint, detect_challenge, image_sign_for
from kiosk.liveness.signals import FrameSignals, compute_signals
from kiosk.liveness.spoof import PlanarMonitor, StaticPhotoMonitor
from kiosk.liveness.types import (
    Challenge,
    ChallengeOutcome,
    ChallengeSpec,
    Hint,
    LivenessState,
    LivenessStatus,
    Reason,
)
from kiosk.perception.types import FrameObservation

log = logging.getLogger(__name__)

# A returned sample belongs to a request when their timestamps agree this closely (s).
SAMPLE_MATCH_TOL_S = 1e-3
# A request unanswered for this many re-embedding intervals is given up (and asked again).
PENDING_STALE_INTERVALS = 3.0
# Seconds "Well done" stays up after a challenge is met. One frame of it is never seen: the next
# prompt replaces it at once. It gives way to any hint that says something (relax, turn further...).
WELL_DONE_SHOW_S = 1.0
_BASELINE_HINTS = {
    "no_face": Hint.LOOK_AT_CAMERA,
    "faces": Hint.ONLY_ONE_FACE,
    "pose": Hint.LOOK_AT_CAMERA,
    "expression": Hint.RELAX,
    "moving": Hint.HOLD_STILL,
}


class LivenessSession:
    """One applicant's liveness step. See the module docstring.

    ``mirrored``: the PREVIEW the applicant sees is mirrored (``display.mirror_preview``). It only
    changes ``status.arrow`` (which side of the screen the face in the preview moves to); detection
    never depends on it because the landmarker sees the camera image, which is not mirrored.

    ``frames_mirrored``: the observations themselves come from left-right flipped frames (e.g. a
    recording of a mirrored preview). Only then does the image-to-applicant direction mapping swap.

    ``screen``: an optional :class:`~kiosk.liveness.screen.ScreenMonitor`-like object whose
    ``update(t, rgb, box) -> bool`` flags a screen or print; used when :meth:`update` gets ``rgb``.
    """

    def __init__(
        self,
        cfg: LivenessConfig,
        challenges: Sequence[ChallengeSpec],
        *,
        mirrored: bool,
        frames_mirrored: bool = False,
        screen: Any = None,
    ) -> None:
        if not challenges:
            raise ValueError("a liveness session needs at least one challenge")
        self.cfg = cfg
        self.challenges = list(challenges)
        self.mirrored = bool(mirrored)
        self.frames_mirrored = bool(frames_mirrored)
        self._collector = BaselineCollector(cfg.baseline_s, cfg.baseline_max_angle_deg)
        self._continuity = ContinuityMonitor(cfg.continuity)
        self._static = StaticPhotoMonitor(cfg.spoof)
        self._planar = PlanarMonitor(cfg.spoof)
        self._screen = screen if cfg.spoof.screen_replay_check else None
        self.baseline: Baseline | None = None
        self._ref: np.ndarray | None = None
        self._state = LivenessState.BASELINE
        self._reason: str | None = None
        self._t0: float | None = None
        self._t_last: float | None = None
        self._index = 0
        self._prompt_s: float | None = None
        self._window: list[FrameSignals] = []
        self._outcomes: list[ChallengeOutcome] = []
        self._active_since: float | None = None
        self._all_done_s: float | None = None
        self._last_request: float | None = None
        self._pending: list[float] = []
        self._matched: list[tuple[float, float]] = []  # (timestamp, distance) of matched samples
        self._status: LivenessStatus | None = None

    # ---- public --------------------------------------------------------------------------
    @property
    def challenge_names(self) -> list[str]:
        return [c.name.value for c in self.challenges]

    @property
    def state(self) -> LivenessState:
        return self._state

    @property
    def reason(self) -> str | None:
        return self._reason

    @property
    def status(self) -> LivenessStatus | None:
        """The status returned by the last :meth:`update` (None before the first frame)."""
        return self._status

    def add_match_sample(self, timestamp_s: float, matched: bool, distance: float) -> None:
        """The verdict of embedding the live face of the frame at ``timestamp_s`` (a frame this
        session asked for with ``embed_request``). A non-match fails the session whatever its
        timestamp; a match counts only for a pending request."""
        if self._state in (LivenessState.PASSED, LivenessState.FAILED):
            return
        if not matched:
            log.info("re-embedding sample did not match (distance %.3f)", distance)
            self._fail(Reason.IDENTITY_MISMATCH.value)
            return
        for i, req in enumerate(self._pending):
            if abs(req - timestamp_s) <= SAMPLE_MATCH_TOL_S:
                del self._pending[i]
                self._matched.append((timestamp_s, float(distance)))
                return
        log.warning("ignoring a match sample for a frame that was not requested (t=%.3f)", timestamp_s)

    def embedding_failed(self, timestamp_s: float) -> None:
        """The engine could not embed the requested frame (no face found by the embedder, worker
        error): forget that request so the session asks again on a later frame. Not a mismatch."""
        before = len(self._pending)
        self._pending = [p for p in self._pending if abs(p - timestamp_s) > SAMPLE_MATCH_TOL_S]
        if len(self._pending) < before:
            self._last_request = None

    def update(self, obs: FrameObservation, rgb: np.ndarray | None = None) -> LivenessStatus:
        """Process one frame (timestamps must not go back) and return the status."""
        t = obs.timestamp_s
        if self._t_last is not None and t < self._t_last:
            raise ValueError(f"frame timestamps went back ({t:.3f} < {self._t_last:.3f})")
        self._t_last = t
        if self._t0 is None:
            self._t0 = t
        if self._state in (LivenessState.PASSED, LivenessState.FAILED):
            return self._emit(t)
        reason = self._continuity.update(obs)
        if reason is not None:
            self._fail(reason.value)
            return self._emit(t)
        face = obs.primary
        lm = None if face is None else np.asarray(face.landmarks[:, :2], dtype=np.float64)
        if self._state is LivenessState.BASELINE:
            return self._baseline_step(obs, lm)
        sig = compute_signals(obs, self._ref)
        return self._active_step(obs, sig, lm, rgb)

    # ---- phases --------------------------------------------------------------------------
    def _baseline_step(self, obs: FrameObservation, lm: np.ndarray | None) -> LivenessStatus:
        t = obs.timestamp_s
        sig = compute_signals(obs)
        self._static.update(t, lm, sig.iod_px)
        got = self._collector.add(sig, lm)
        if got is None:
            assert self._t0 is not None
            if t - self._t0 > self.cfg.baseline_timeout_s:
                self._fail(Reason.BASELINE_TIMEOUT.value)
                return self._emit(t)
            hint = _BASELINE_HINTS.get(self._collector.last_problem or "", Hint.HOLD_STILL)
            return self._emit(t, hint=hint)
        self.baseline, self._ref = got
        log.info("baseline ready after %.2f s (%d frames)", t - (self._t0 or t), self.baseline.frames)
        self._state = LivenessState.ACTIVE
        self._active_since = t
        self._prompt(t)
        return self._active_step(obs, compute_signals(obs, self._ref), lm, None)

    def _prompt(self, t: float) -> None:
        self._prompt_s = t
        self._window = []

    def _active_step(
        self, obs: FrameObservation, sig: FrameSignals, lm: np.ndarray | None, rgb: np.ndarray | None
    ) -> LivenessStatus:
        t = obs.timestamp_s
        assert self.baseline is not None
        if self._static.update(t, lm, sig.iod_px):
            self._fail(Reason.STATIC_PHOTO.value)
            return self._emit(t)
        if self._planar.update(sig):
            self._fail(Reason.PLANAR_MOTION.value)
            return self._emit(t)
        screen = self._screen is not None and rgb is not None and obs.primary is not None
        if screen and self._screen.update(t, rgb, obs.primary.box):  # type: ignore[union-attr]
            self._fail(Reason.SCREEN_REPLAY.value)
            return self._emit(t)
        if self._continuity.reacquired:
            self._last_request = None  # back after a long gap: check the identity on this frame
        embed = self._maybe_request(t, obs)
        if self._index >= len(self.challenges):
            return self._finishing(t, embed)
        spec = self.challenges[self._index]
        assert self._prompt_s is not None
        self._window.append(sig)
        res = detect_challenge(
            spec,
            self._window,
            self.baseline,
            self.cfg.thresholds,
            self.cfg.spoof,
            prompt_s=self._prompt_s,
            mirrored=self.frames_mirrored,
        )
        if res.failed:
            self._outcomes.append(
                ChallengeOutcome(
                    spec.name.value, spec.count, self._prompt_s, res.armed_s, None, False, res.reason
                )
            )
            self._fail(res.reason or "challenge_failed")
            return self._emit(t)
        if res.done:
            self._outcomes.append(
                ChallengeOutcome(
                    spec.name.value, spec.count, self._prompt_s, res.armed_s, res.done_s or t, True
                )
            )
            log.info("challenge %s done %.2f s after its prompt", spec.name.value, t - self._prompt_s)
            self._index += 1
            if self._index >= len(self.challenges):
                self._all_done_s = t
                return self._finishing(t, embed)
            self._prompt(t)
            return self._emit(t, hint=Hint.WELL_DONE, embed=embed)
        if t - self._prompt_s > spec.timeout_s:
            self._outcomes.append(
                ChallengeOutcome(
                    spec.name.value,
                    spec.count,
                    self._prompt_s,
                    res.armed_s,
                    None,
                    False,
                    Reason.CHALLENGE_TIMEOUT.value,
                )
            )
            self._fail(Reason.CHALLENGE_TIMEOUT.value)
            return self._emit(t)
        hint = res.hint
        # every prompt after the first follows a met challenge
        praising = self._index > 0 and t - self._prompt_s < WELL_DONE_SHOW_S
        if praising and res.progress == 0.0 and hint is action_hint(spec.name):
            hint = Hint.WELL_DONE
        return self._emit(t, hint=hint, progress=res.progress, embed=embed)

    def _finishing(self, t: float, embed: bool) -> LivenessStatus:
        need = self.cfg.continuity.min_reembed_samples
        if len(self._matched) >= need and not self._pending:
            self._state = LivenessState.PASSED
            log.info("liveness passed with %d matched samples", len(self._matched))
            return self._emit(t, hint=Hint.DONE)
        assert self._all_done_s is not None
        if t - self._all_done_s > self.cfg.continuity.reembed_wait_s:
            self._fail(Reason.REEMBED_MISSING.value)
            return self._emit(t)
        return self._emit(t, hint=Hint.HOLD_STILL, embed=embed)

    def _maybe_request(self, t: float, obs: FrameObservation) -> bool:
        # A request the engine never answered (dropped job) stops counting as pending after a while,
        # so the session asks again instead of waiting for it.
        stale = PENDING_STALE_INTERVALS * self.cfg.continuity.reembed_interval_s
        self._pending = [p for p in self._pending if t - p <= stale]
        if obs.face_count != 1:
            return False
        pose = obs.faces[0].pose
        lim = self.cfg.continuity.reembed_max_angle_deg
        if pose is None or abs(pose.yaw_deg) > lim or abs(pose.pitch_deg) > lim:
            return False  # wait for a near-frontal frame; continuity keeps tracking the face meanwhile
        need_more = self._index < len(self.challenges) or len(self._matched) + len(self._pending) < (
            self.cfg.continuity.min_reembed_samples
        )
        if not need_more:
            return False
        if self._last_request is not None and t - self._last_request < self.cfg.continuity.reembed_interval_s:
            return False
        self._last_request = t
        self._pending.append(t)
        return True

    def _fail(self, reason: str) -> None:
        if self._state not in (LivenessState.PASSED, LivenessState.FAILED):
            log.info("liveness failed: %s", reason)
            self._state = LivenessState.FAILED
            self._reason = reason

    # ---- status --------------------------------------------------------------------------
    def _arrow(self, spec: ChallengeSpec | None) -> str | None:
        if spec is None or spec.name not in (Challenge.TURN_LEFT, Challenge.TURN_RIGHT):
            return None
        # Where the nose moves in the camera image; a mirrored preview shows it the other way round.
        sign = image_sign_for(spec.name, False)
        on_screen = -sign if self.mirrored else sign
        return "screen_right" if on_screen > 0 else "screen_left"

    def detail(self) -> dict[str, Any]:
        """JSON-safe summary for the decision record (no images, landmarks or embeddings)."""
        return {
            "challenges": [c.as_dict() for c in self.challenges],
            "outcomes": [o.as_dict() for o in self._outcomes],
            "state": self._state.value,
            "reason": self._reason,
            "baseline_s": None
            if self.baseline is None
            else round(self.baseline.t_end_s - self.baseline.t_start_s, 3),
            # why no baseline was reached: the most frequent problem (no_face, faces, pose, expression,
            # moving), e.g. "expression" for a face that never relaxed, such as a smiling photo
            "baseline_problem": None
            if self.baseline is not None or not self._collector.problem_frames
            else self._collector.problem_frames.most_common(1)[0][0],
            "samples_matched": len(self._matched),
            "sample_distances": [round(d, 4) for _, d in self._matched],
            "planar_ratio": None if self._planar.ratio is None else round(self._planar.ratio, 3),
            "planar_frames": self._planar.frames,
            "min_motion": None
            if self._static.min_motion_seen is None
            else round(self._static.min_motion_seen, 3),
            "max_faces": self._continuity.max_faces_seen,
        }

    def _emit(
        self,
        t: float,
        *,
        hint: Hint | None = None,
        progress: float = 0.0,
        embed: bool = False,
    ) -> LivenessStatus:
        spec = (
            self.challenges[self._index]
            if (self._state is LivenessState.ACTIVE and self._index < len(self.challenges))
            else None
        )
        time_left = None
        if spec is not None and self._prompt_s is not None:
            time_left = max(0.0, spec.timeout_s - (t - self._prompt_s))
        if self._state is LivenessState.FAILED:
            hint = Hint.FAILED
        elif self._state is LivenessState.PASSED:
            hint, progress = Hint.DONE, 1.0
        finished = self._state in (LivenessState.PASSED, LivenessState.FAILED)
        self._status = LivenessStatus(
            timestamp_s=t,
            state=self._state,
            reason=self._reason,
            challenge=spec,
            challenge_index=min(self._index, len(self.challenges)),
            challenges_total=len(self.challenges),
            progress=float(min(max(progress, 0.0), 1.0)),
            time_left_s=time_left,
            hint=hint,
            arrow=self._arrow(spec),
            embed_request=bool(embed) and not finished,
            prompt_s=self._prompt_s if spec is not None else None,
            samples=len(self._matched),
            samples_needed=self.cfg.continuity.min_reembed_samples,
            detail=self.detail() if finished else {},
        )
        return self._status
