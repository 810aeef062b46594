"""The applicant's own neutral levels: open eyes, resting mouth, frontal pose.

Detectors compare every frame with these levels instead of fixed absolute numbers, so narrow eyes,
glasses, a beauty filter or a camera mounted above the screen do not change what counts as a blink
or a turn. :class:`BaselineCollector` builds one live from a short steady neutral phase;
:func:`clip_baseline` builds one from a whole recorded clip for offline analysis.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kiosk.liveness.signals import FrameSignals

log = logging.getLogger(__name__)

# A baseline frame must look neutral on these absolute scales (blendshapes are 0..1).
NEUTRAL_EYE_BLINK_MAX = 0.5
NEUTRAL_SMILE_MAX = 0.5
NEUTRAL_JAW_MAX = 0.3
# Pose may wander this much (degrees, max - min) during the baseline window.
STEADY_SPREAD_DEG = 10.0


@dataclass(frozen=True)
class Baseline:
    """Neutral levels of one applicant. Signal units as in :mod:`kiosk.liveness.signals`."""

    eye_open: float
    eye_blink: float
    smile: float
    jaw_open: float
    mouth_gap: float
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    iod_px: float
    t_start_s: float = 0.0
    t_end_s: float = 0.0
    frames: int = 0

    def as_dict(self) -> dict[str, float | int]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def _vals(sigs: Sequence[FrameSignals], name: str) -> np.ndarray:
    return np.array([getattr(s, name) for s in sigs if getattr(s, name) is not None], dtype=np.float64)


def baseline_from_signals(sigs: Sequence[FrameSignals]) -> Baseline:
    """Medians of a run of neutral frames (every frame must have a face)."""
    faces = [s for s in sigs if s.has_face]
    if not faces:
        raise ValueError("a baseline needs at least one frame with a face")

    def med(name: str) -> float:
        v = _vals(faces, name)
        return float(np.median(v)) if v.size else 0.0

    return Baseline(
        eye_open=med("eye_open"),
        eye_blink=med("eye_blink"),
        smile=med("smile"),
        jaw_open=med("jaw_open"),
        mouth_gap=med("mouth_gap"),
        yaw_deg=med("yaw_deg"),
        pitch_deg=med("pitch_deg"),
        roll_deg=med("roll_deg"),
        iod_px=med("iod_px"),
        t_start_s=faces[0].t_s,
        t_end_s=faces[-1].t_s,
        frames=len(faces),
    )


def clip_baseline(sigs: Sequence[FrameSignals]) -> Baseline:
    """A baseline for a whole recorded clip, robust to the actions in it.

    Open-eye level: 80th percentile of ``eye_open`` (eyes are open most of the time, and even a clip
    with 40 % closed eyes keeps its 80th percentile open). Resting mouth: 20th percentiles of
    smile, jaw and gap. Pose: medians (turns and nods are excursions around the resting pose).
    """
    faces = [s for s in sigs if s.has_face]
    if not faces:
        raise ValueError("no face in the clip")

    def pct(name: str, q: float) -> float:
        v = _vals(faces, name)
        return float(np.percentile(v, q)) if v.size else 0.0

    return Baseline(
        eye_open=pct("eye_open", 80),
        eye_blink=pct("eye_blink", 20),
        smile=pct("smile", 20),
        jaw_open=pct("jaw_open", 20),
        mouth_gap=pct("mouth_gap", 20),
        yaw_deg=pct("yaw_deg", 50),
        pitch_deg=pct("pitch_deg", 50),
        roll_deg=pct("roll_deg", 50),
        iod_px=pct("iod_px", 50),
        t_start_s=faces[0].t_s,
        t_end_s=faces[-1].t_s,
        frames=len(faces),
    )


def reference_index(sigs: Sequence[FrameSignals], base: Baseline) -> int:
    """Index of the frame closest to the baseline pose with open eyes and a resting mouth; it serves
    as the reference shape for the planarity and parallax measures."""
    best, best_cost = -1, float("inf")
    for i, s in enumerate(sigs):
        if not s.has_face or s.yaw_deg is None or s.pitch_deg is None:
            continue
        assert s.eye_open is not None and s.smile is not None and s.jaw_open is not None
        cost = abs(s.yaw_deg - base.yaw_deg) + abs(s.pitch_deg - base.pitch_deg)
        cost += 20.0 * max(0.0, 1.0 - s.eye_open / max(base.eye_open, 1e-6))
        cost += 20.0 * max(0.0, s.smile - base.smile) + 20.0 * max(0.0, s.jaw_open - base.jaw_open)
        if cost < best_cost:
            best, best_cost = i, cost
    if best < 0:
        raise ValueError("no face to take a reference shape from")
    return best


def is_neutral_frame(s: FrameSignals, max_angle_deg: float) -> bool:
    """One face, near frontal, eyes open and mouth at rest (absolute scales)."""
    if s.face_count != 1 or not s.has_face:
        return False
    if s.yaw_deg is None or s.pitch_deg is None:
        return False
    if abs(s.yaw_deg) > max_angle_deg or abs(s.pitch_deg) > max_angle_deg:
        return False
    assert s.eye_blink is not None and s.smile is not None and s.jaw_open is not None
    return (
        s.eye_blink < NEUTRAL_EYE_BLINK_MAX and s.smile < NEUTRAL_SMILE_MAX and s.jaw_open < NEUTRAL_JAW_MAX
    )


class BaselineCollector:
    """Feeds on (signals, landmarks) frame by frame; ready once ``duration_s`` of consecutive steady
    neutral frames were seen. A non-neutral frame or a pose drift starts the collection again."""

    def __init__(self, duration_s: float, max_angle_deg: float, min_frames: int = 3) -> None:
        self.duration_s = float(duration_s)
        self.max_angle_deg = float(max_angle_deg)
        self.min_frames = int(min_frames)
        self._run: deque[tuple[FrameSignals, np.ndarray]] = deque()
        self.last_problem: str | None = None
        # frames turned away, per problem: the record's explanation of a baseline_timeout
        self.problem_frames: Counter[str] = Counter()

    def reset(self) -> None:
        self._run.clear()

    def add(self, sig: FrameSignals, landmarks_xy: np.ndarray | None) -> tuple[Baseline, np.ndarray] | None:
        """Add one frame; returns (baseline, reference landmarks (N, 2)) once ready, else None.
        ``last_problem`` says why a frame did not qualify: no_face, faces, pose, expression, moving;
        ``problem_frames`` counts them."""
        if landmarks_xy is None or not is_neutral_frame(sig, self.max_angle_deg):
            if not sig.has_face or landmarks_xy is None:
                self.last_problem = "no_face"
            elif sig.face_count > 1:
                self.last_problem = "faces"
            elif is_neutral_frame(sig, 90.0):
                self.last_problem = "pose"
            else:
                self.last_problem = "expression"
            self.problem_frames[self.last_problem] += 1
            self._run.clear()
            return None
        self._run.append((sig, landmarks_xy))
        yaws = [s.yaw_deg for s, _ in self._run if s.yaw_deg is not None]
        pitches = [s.pitch_deg for s, _ in self._run if s.pitch_deg is not None]
        if max(yaws) - min(yaws) > STEADY_SPREAD_DEG or max(pitches) - min(pitches) > STEADY_SPREAD_DEG:
            self.last_problem = "moving"
            self.problem_frames[self.last_problem] += 1
            self._run.clear()
            self._run.append((sig, landmarks_xy))
            return None
        self.last_problem = None
        span = self._run[-1][0].t_s - self._run[0][0].t_s
        if span + 1e-9 < self.duration_s or len(self._run) < self.min_frames:
            return None
        sigs = [s for s, _ in self._run]
        base = baseline_from_signals(sigs)
        ref = self._run[reference_index(sigs, base)][1]
        return base, np.array(ref, dtype=np.float64, copy=True)
