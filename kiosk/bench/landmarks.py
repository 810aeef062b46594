"""Per-frame cost at 640x480: our FaceLandmarker (VIDEO mode) plus the liveness session on top, against
dlib's HOG face detector plus its 5-point shape predictor, on the same frames, in the same process.

Rounds alternate which pipeline goes first so load drift on the machine hits both; each round replays
the frames in clip order (the VIDEO landmarker tracks between frames, as on the kiosk). Our side is
:func:`kiosk.liveness.bench.bench_liveness` (the liveness helper's benchmark, reused as is); dlib runs
``detector(rgb, 0)`` (no upsampling) then the shape predictor on each detection.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kiosk.bench.stats import Distribution, Spread, ratio

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DlibFramesRun:
    """One dlib pass: milliseconds per frame and the share of frames where HOG found a face."""

    ms: Distribution
    found_rate: float


@dataclass(frozen=True)
class LandmarksBench:
    """Medians over ``rounds`` of each round's per-frame figures (ms), with their spread.

    ``total_ms_mean``: landmarker + liveness; ``fps_sustained``: 1000 / total mean (one thread of ours);
    ``speedup_*``: dlib mean / ours mean, per round then the median.
    """

    frames: int
    rounds: int
    source: str
    real_frames: bool
    landmarker_ms_mean: Spread
    liveness_ms_mean: Spread
    total_ms_mean: Spread
    total_ms_p95: Spread
    fps_sustained: Spread
    dlib_ms_mean: Spread | None
    dlib_ms_p95: Spread | None
    dlib_fps: Spread | None
    dlib_found_rate: float | None
    speedup_total_vs_dlib: Spread | None
    speedup_landmarker_vs_dlib: Spread | None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            out[k] = v.as_dict() if hasattr(v, "as_dict") else v
        return out


def _dlib_pass(ref: Any, frames: Sequence[np.ndarray]) -> DlibFramesRun:
    ms: list[float] = []
    found = 0
    ref.faces(frames[0], 0)  # warm-up
    for rgb in frames:
        t0 = time.perf_counter()
        faces = ref.faces(rgb, 0)
        ms.append((time.perf_counter() - t0) * 1000.0)
        found += bool(faces)
    return DlibFramesRun(Distribution.of(ms), round(found / len(frames), 3))


def bench_landmarks(
    frames: Sequence[np.ndarray],
    *,
    rounds: int = 3,
    source: str = "frames given",
    real_frames: bool = True,
    with_dlib: bool = True,
    progress: Callable[[str], None] | None = None,
) -> LandmarksBench:
    """Run ``rounds`` interleaved rounds over ``frames`` (640x480 RGB, in clip order)."""
    from kiosk.liveness.bench import bench_liveness

    notes: list[str] = []
    ref: Any = None
    if with_dlib:
        from kiosk.errors import ModelError

        try:
            from kiosk.perception.dlib_ref import DlibReference

            ref = DlibReference()
        except ModelError as exc:
            notes.append(f"dlib baseline unavailable: {exc}")
    ours: list[Any] = []
    theirs: list[DlibFramesRun] = []
    for r in range(rounds):
        if progress:
            progress(f"landmarks: round {r + 1}/{rounds} ({len(frames)} frames)")
        order = ("ours", "dlib") if r % 2 == 0 else ("dlib", "ours")
        for who in order:
            if who == "ours":
                ours.append(bench_liveness(list(frames), n_frames=len(frames), warmup=5))
            elif ref is not None:
                theirs.append(_dlib_pass(ref, frames))
    d_mean = Spread.of([t.ms.mean for t in theirs]) if theirs else None
    return LandmarksBench(
        frames=len(frames),
        rounds=rounds,
        source=source,
        real_frames=real_frames,
        landmarker_ms_mean=Spread.of([o.landmarker_ms_mean for o in ours]),
        liveness_ms_mean=Spread.of([o.liveness_ms_mean for o in ours]),
        total_ms_mean=Spread.of([o.total_ms_mean for o in ours]),
        total_ms_p95=Spread.of([o.total_ms_p95 for o in ours]),
        fps_sustained=Spread.of([o.fps_sustained for o in ours], 1),
        dlib_ms_mean=d_mean,
        dlib_ms_p95=Spread.of([t.ms.p95 for t in theirs]) if theirs else None,
        dlib_fps=Spread.of([1000.0 / t.ms.mean for t in theirs], 1) if theirs else None,
        dlib_found_rate=round(float(np.mean([t.found_rate for t in theirs])), 3) if theirs else None,
        speedup_total_vs_dlib=(
            Spread.of([ratio(t.ms.mean, o.total_ms_mean) or 0.0 for o, t in zip(ours, theirs, strict=True)])
            if theirs
            else None
        ),
        speedup_landmarker_vs_dlib=(
            Spread.of(
                [ratio(t.ms.mean, o.landmarker_ms_mean) or 0.0 for o, t in zip(ours, theirs, strict=True)]
            )
            if theirs
            else None
        ),
        notes=notes,
    )
