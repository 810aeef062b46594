"""640x480 RGB frames for the per-frame benchmarks: real webcam footage when the evaluation data is
present (the liveness benchmark's clip, centre-cropped to 4:3), else the shipped astronaut photo
letterboxed to 640x480 (a still: tracking never loses it, so it flatters the landmarker a little)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

WIDTH, HEIGHT = 640, 480


@dataclass(frozen=True)
class BenchFrames:
    frames: list[np.ndarray]
    source: str
    real: bool


def letterbox(rgb: np.ndarray, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """Scale ``rgb`` to fit ``width`` x ``height`` keeping its aspect, centred on black."""
    import cv2

    h, w = rgb.shape[:2]
    s = min(width / w, height / h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    small = cv2.resize(np.ascontiguousarray(rgb), (nw, nh), interpolation=cv2.INTER_AREA)
    out = np.zeros((height, width, 3), dtype=np.uint8)
    y0, x0 = (height - nh) // 2, (width - nw) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = small
    return out


def astronaut_frames(count: int) -> list[np.ndarray]:
    """``count`` copies of scikit-image's astronaut letterboxed to 640x480, each with a little seeded
    sensor noise so no two frames are byte-identical."""
    from skimage import data as skdata

    base = letterbox(np.ascontiguousarray(skdata.astronaut()[:, :, :3])).astype(np.int16)
    rng = np.random.default_rng(0)
    return [
        np.clip(base + rng.integers(-3, 4, size=base.shape, dtype=np.int16), 0, 255).astype(np.uint8)
        for _ in range(count)
    ]


def bench_frames(count: int) -> BenchFrames:
    """``count`` consecutive 640x480 frames (see the module docstring for where they come from)."""
    from kiosk.paths import data_dir

    if data_dir() is not None:
        from kiosk.liveness.bench import load_bench_frames

        frames, source = load_bench_frames(max_frames=count)
        return BenchFrames(frames, source, True)
    return BenchFrames(astronaut_frames(count), "skimage astronaut letterboxed to 640x480 (no data)", False)
