"""A small video reader for offline liveness analysis: frames as RGB with the file's own timestamps.

OpenCV decodes mp4/avi/mov/mpg and animated GIFs (checked: ``headpose_sample.gif`` and ``demo.gif``
give their frame delays through ``CAP_PROP_POS_MSEC``). Timestamps come from the file; when the
container gives none that increase, frame index / fps is used instead.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.errors import InputError

log = logging.getLogger(__name__)

DEFAULT_FPS = 25.0


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    fps: float
    width: int
    height: int
    frame_count: int  # as the container claims; may be wrong (-1 when unknown)


def open_video(path: str | Path) -> tuple[VideoInfo, object]:
    """Open ``path`` with OpenCV; :class:`InputError` when missing or undecodable."""
    import cv2

    p = Path(path)
    if not p.is_file():
        raise InputError(f"video not found: {p}")
    cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        cap.release()
        raise InputError(f"cannot decode video {p} (not a video, or a codec OpenCV lacks)")
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    if not (math.isfinite(fps) and 0.5 <= fps <= 240):
        fps = DEFAULT_FPS
    n = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    count = int(n) if math.isfinite(n) and 0 < n < 1e7 else -1
    info = VideoInfo(
        path=p,
        fps=fps,
        width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
        height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        frame_count=count,
    )
    return info, cap


def read_frames(
    path: str | Path, *, start_s: float = 0.0, end_s: float | None = None, max_side: int | None = None
) -> Iterator[tuple[np.ndarray, float]]:
    """Yield (rgb uint8 HxWx3, timestamp seconds) for every frame in [start_s, end_s].

    Timestamps strictly increase: a repeated or missing file time becomes the previous one plus a
    frame period. ``max_side`` downscales larger frames (keeps aspect) to bound the cost.
    """
    import cv2

    info, cap = open_video(path)
    period = 1.0 / info.fps
    last = -math.inf
    index = 0
    got = 0
    try:
        while True:
            ok, bgr = cap.read()  # type: ignore[attr-defined]
            if not ok or bgr is None:
                break
            ms = cap.get(cv2.CAP_PROP_POS_MSEC)  # type: ignore[attr-defined]
            t = ms / 1000.0 if math.isfinite(ms) and ms >= 0 else index * period
            if index > 0 and t <= last:
                t = last + period
            last = t
            index += 1
            if t < start_s - 1e-9:
                continue
            if end_s is not None and t > end_s + 1e-9:
                break
            if bgr.ndim == 2:
                bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
            if max_side is not None and max(bgr.shape[:2]) > max_side:
                s = max_side / max(bgr.shape[:2])
                bgr = cv2.resize(
                    bgr, (round(bgr.shape[1] * s), round(bgr.shape[0] * s)), interpolation=cv2.INTER_AREA
                )
            got += 1
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), t
    finally:
        cap.release()  # type: ignore[attr-defined]
    if got == 0 and index == 0:
        raise InputError(f"no frames could be decoded from {path}")
