"""Offline analysis of a recorded clip: per-frame signals and a timeline of detected events.

Used by ``ekyc-kiosk analyze`` and ``scripts/eval_liveness.py``. The baseline comes from the whole
clip (:func:`~kiosk.liveness.baseline.clip_baseline`); the reference shape for the planarity
measures is the clip's most neutral frame.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.config.liveness import LivenessConfig
from kiosk.liveness.baseline import Baseline, clip_baseline, reference_index
from kiosk.liveness.detectors import find_events
from kiosk.liveness.signals import FrameSignals, compute_signals, shape_change
from kiosk.liveness.types import Event
from kiosk.perception.types import FrameObservation

log = logging.getLogger(__name__)


@dataclass
class ClipAnalysis:
    """Signals, baseline and events of one clip. ``mirrored``: the frames were treated as mirror
    images (turn names swap; ``image_direction`` does not)."""

    fps: float
    frames: int
    duration_s: float
    mirrored: bool
    signals: list[FrameSignals]
    baseline: Baseline | None
    events: list[Event] = field(default_factory=list)
    source: str | None = None
    width: int = 0
    height: int = 0

    def to_json(self, *, with_signals: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source": self.source,
            "fps": round(self.fps, 3),
            "frames": self.frames,
            "duration_s": round(self.duration_s, 3),
            "width": self.width,
            "height": self.height,
            "mirrored": self.mirrored,
            "turn_names": "applicant's own side (turn_left = the person's own left); "
            "image_direction gives the image side (nose_to_image_left/right)",
            "baseline": None if self.baseline is None else self.baseline.as_dict(),
            "events": [e.as_dict() for e in self.events],
        }
        if with_signals:
            out["signals"] = [s.as_dict() for s in self.signals]
        return out


def analyze_observations(
    observations: Sequence[FrameObservation], cfg: LivenessConfig | None = None, *, mirrored: bool = False
) -> tuple[list[FrameSignals], Baseline | None, list[Event]]:
    """Signals (with planarity against the most neutral frame), clip baseline and events."""
    cfg = cfg or LivenessConfig()
    sigs = [compute_signals(o) for o in observations]
    if not any(s.has_face for s in sigs):
        from kiosk.liveness.detectors import find_face_count_events

        return sigs, None, find_face_count_events(sigs)
    base = clip_baseline(sigs)
    ref_obs = observations[reference_index(sigs, base)].primary
    assert ref_obs is not None
    ref = np.asarray(ref_obs.landmarks[:, :2], dtype=np.float64)
    out: list[FrameSignals] = []
    for o, s in zip(observations, sigs):
        if o.primary is not None and s.iod_px:
            pr, de = shape_change(ref, o.primary.landmarks[:, :2], s.iod_px)
            s = dataclasses.replace(s, planar_residual=pr, deform=de)
        out.append(s)
    return out, base, find_events(out, base, cfg.thresholds, mirrored=mirrored)


def landmark_video(
    frames: Iterable[tuple[np.ndarray, float]], *, max_faces: int = 3
) -> list[FrameObservation]:
    """Run the VIDEO-mode FaceLandmarker over (rgb, t_s) frames."""
    from kiosk.models import verified_model_path
    from kiosk.perception.landmarker import FaceLandmarker, LandmarkerOptions, RunningMode

    opts = LandmarkerOptions(
        model_path=verified_model_path("face_landmarker"), mode=RunningMode.VIDEO, max_faces=max_faces
    )
    with FaceLandmarker(opts) as lm:
        return [lm.detect_video(rgb, t) for rgb, t in frames]


def analyze_video(
    path: str | Path,
    cfg: LivenessConfig | None = None,
    *,
    mirrored: bool = False,
    start_s: float = 0.0,
    end_s: float | None = None,
) -> ClipAnalysis:
    """Decode, landmark and analyse a video file (see :func:`analyze_observations`)."""
    from kiosk.liveness.video import open_video, read_frames

    info, cap = open_video(path)
    cap.release()  # type: ignore[attr-defined]
    obs = landmark_video(read_frames(path, start_s=start_s, end_s=end_s))
    sigs, base, events = analyze_observations(obs, cfg, mirrored=mirrored)
    duration = (obs[-1].timestamp_s - obs[0].timestamp_s + 1.0 / info.fps) if obs else 0.0
    w = obs[0].width if obs else info.width
    h = obs[0].height if obs else info.height
    return ClipAnalysis(
        fps=info.fps,
        frames=len(obs),
        duration_s=duration,
        mirrored=mirrored,
        signals=sigs,
        baseline=base,
        events=events,
        source=str(path),
        width=w,
        height=h,
    )
