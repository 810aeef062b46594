"""Per-frame cost of the liveness path: VIDEO-mode landmarker plus the liveness session, at 640x480.

:func:`bench_liveness` replays real frames (by default the webcam clip
``liveness_videos2/webcam_krzysiek/real.mp4``, centre-cropped to 4:3 and resized to 640x480) through
a FaceLandmarker and a :class:`~kiosk.liveness.session.LivenessSession` (restarted whenever it
finishes), and reports mean and 95th-percentile milliseconds per frame for each part and the frame
rate the two together sustain on one thread. Wall time is measured with ``time.perf_counter``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.errors import InputError

log = logging.getLogger(__name__)

DEFAULT_CLIP = "liveness_videos2/webcam_krzysiek/real.mp4"
SIZE = (640, 480)


@dataclass(frozen=True)
class LivenessBench:
    """Milliseconds per frame (mean and p95) and the sustained frame rate (frames per second)."""

    frames: int
    width: int
    height: int
    landmarker_ms_mean: float
    landmarker_ms_p95: float
    liveness_ms_mean: float
    liveness_ms_p95: float
    total_ms_mean: float
    total_ms_p95: float
    fps_sustained: float
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _to_640x480(rgb: np.ndarray) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    target = SIZE[0] / SIZE[1]
    if w / h > target:  # too wide: crop the sides
        nw = round(h * target)
        x0 = (w - nw) // 2
        rgb = rgb[:, x0 : x0 + nw]
    elif w / h < target:
        nh = round(w / target)
        y0 = (h - nh) // 2
        rgb = rgb[y0 : y0 + nh]
    return cv2.resize(np.ascontiguousarray(rgb), SIZE, interpolation=cv2.INTER_AREA)


def load_bench_frames(clip: Path | None = None, *, max_frames: int = 300) -> tuple[list[np.ndarray], str]:
    """640x480 RGB frames of ``clip`` (default: the webcam clip in the evaluation data)."""
    from kiosk.liveness.video import read_frames

    if clip is None:
        from kiosk.paths import data_dir

        d = data_dir()
        if d is None:
            raise InputError(
                "no evaluation data for the liveness benchmark: set EKYC_DATA_DIR or pass frames"
            )
        clip = d / DEFAULT_CLIP
    frames = []
    for rgb, _ in read_frames(clip):
        frames.append(_to_640x480(rgb))
        if len(frames) >= max_frames:
            break
    if not frames:
        raise InputError(f"no frames in {clip}")
    return frames, str(clip)


def bench_liveness(
    frames: Sequence[np.ndarray] | None = None,
    *,
    n_frames: int = 150,
    fps: float = 15.0,
    clip: Path | None = None,
    warmup: int = 5,
) -> LivenessBench:
    """Run ``n_frames`` (cycling through ``frames``) with timestamps 1/``fps`` apart."""
    from kiosk.config.liveness import LivenessConfig
    from kiosk.liveness.screen import ScreenMonitor
    from kiosk.liveness.sequence import draw_challenges
    from kiosk.liveness.session import LivenessSession
    from kiosk.models import verified_model_path
    from kiosk.perception.landmarker import FaceLandmarker, LandmarkerOptions, RunningMode

    source = "frames given"
    if frames is None:
        frames, source = load_bench_frames(clip)
    if not frames:
        raise InputError("no frames to benchmark")
    cfg = LivenessConfig()
    rng = random.Random(0)

    def new_session() -> LivenessSession:
        return LivenessSession(
            cfg, draw_challenges(rng, cfg), mirrored=False, screen=ScreenMonitor(cfg.spoof)
        )

    lm_ms: list[float] = []
    lv_ms: list[float] = []
    opts = LandmarkerOptions(model_path=verified_model_path("face_landmarker"), mode=RunningMode.VIDEO)
    with FaceLandmarker(opts) as lm:
        sess = new_session()
        for i in range(n_frames + warmup):
            rgb = frames[i % len(frames)]
            t = i / fps
            t0 = time.perf_counter()
            obs = lm.detect_video(rgb, t)
            t1 = time.perf_counter()
            st = sess.update(obs, rgb)
            if st.embed_request:
                sess.add_match_sample(st.timestamp_s, True, 0.3)
            t2 = time.perf_counter()
            if st.finished:
                sess = new_session()
            if i >= warmup:
                lm_ms.append((t1 - t0) * 1000.0)
                lv_ms.append((t2 - t1) * 1000.0)
    total = np.array(lm_ms) + np.array(lv_ms)
    h, w = frames[0].shape[:2]
    return LivenessBench(
        frames=len(lm_ms),
        width=int(w),
        height=int(h),
        landmarker_ms_mean=float(np.mean(lm_ms)),
        landmarker_ms_p95=float(np.percentile(lm_ms, 95)),
        liveness_ms_mean=float(np.mean(lv_ms)),
        liveness_ms_p95=float(np.percentile(lv_ms, 95)),
        total_ms_mean=float(total.mean()),
        total_ms_p95=float(np.percentile(total, 95)),
        fps_sustained=float(1000.0 / total.mean()),
        source=source,
    )
