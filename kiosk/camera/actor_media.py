"""Media the actor plays: still images and the decoded frames of clip segments.

Clips are decoded once, at ``open()``; only frames inside the segments a scenario uses are kept,
already framed to the camera size, JPEG-compressed (default, 45-75 KB a frame at 640x480) or raw.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.camera.actor_scenario import BUILTIN_ASTRONAUT, Clip
from kiosk.camera.file_source import media_fps
from kiosk.camera.imageops import bgr_to_rgb, crop_normalized, place_on_canvas
from kiosk.camera.media_paths import resolve_media_path
from kiosk.errors import CameraError

log = logging.getLogger(__name__)

#: Frames kept on each side of a needed interval, so lookups at its edges land on real frames.
_MARGIN_S = 0.25
#: Decoded clips shared by actors of the same scenario (a new session, a test) in this process.
_CACHE_MAX = 8
_cache: dict[tuple[object, ...], ClipFrames] = {}
_cache_lock = threading.Lock()


def load_still(ref: str) -> np.ndarray:
    """An RGB still: ``builtin:astronaut`` (scikit-image, public domain) or a data-dir image path."""
    if ref == BUILTIN_ASTRONAUT:
        try:
            from skimage import data as skdata
        except ImportError as exc:  # pragma: no cover - scikit-image is a dependency
            raise CameraError(f"scikit-image is needed for {ref}: {exc}") from None
        return np.ascontiguousarray(skdata.astronaut()[:, :, :3])
    import cv2

    path = resolve_media_path(ref, what="image", data_first=True)
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise CameraError(f"cannot decode image {path}", code="media_unreadable")
    return bgr_to_rgb(bgr)


@dataclass
class ClipFrames:
    """Frames of one clip at known media times, framed to the output size.

    ``times[i]`` is frame i's media time (s); ``frames[i]`` is None when frame i lies outside every
    needed interval (not kept).
    """

    key: str
    path: Path
    fps: float
    times: list[float]
    frames: list[np.ndarray | bytes | None]

    def index_at(self, t: float, lo_t: float, hi_t: float) -> int:
        """The kept frame shown at clip time ``t`` (the last one at or before it), within [lo_t, hi_t]."""
        t = min(max(t, lo_t), hi_t)
        i = max(0, bisect.bisect_right(self.times, t + 1e-6) - 1)
        # Step to the nearest kept frame (edges of intervals, or a clamped time past the clip's end).
        if self.frames[i] is None:
            for j in range(1, len(self.frames)):
                for k in (i - j, i + j):
                    if 0 <= k < len(self.frames) and self.frames[k] is not None:
                        return k
            raise CameraError(f"clip {self.key}: no frames kept")  # pragma: no cover - guarded by decode
        return i

    def image(self, i: int) -> np.ndarray:
        f = self.frames[i]
        if f is None:
            raise CameraError(f"clip {self.key}: frame {i} not kept")
        if isinstance(f, bytes):
            import cv2

            bgr = cv2.imdecode(np.frombuffer(f, np.uint8), cv2.IMREAD_COLOR)
            if bgr is None:  # pragma: no cover - we encoded it ourselves
                raise CameraError(f"clip {self.key}: cached frame {i} is corrupt")
            return bgr_to_rgb(bgr)
        return f

    @property
    def duration_s(self) -> float:
        return self.times[-1] if self.times else 0.0


def decode_clip(
    key: str,
    clip: Clip,
    intervals: Sequence[tuple[float, float]],
    size: tuple[int, int],
    *,
    cache: str = "jpeg",
) -> ClipFrames:
    """Decode ``clip`` once, keeping frames inside ``intervals`` (clip seconds) framed to ``size``.

    Results are shared (read-only) with later calls for the same clip, framing and intervals.
    """
    path = resolve_media_path(clip.path, what=f"clip {key!r}", data_first=True)
    st = path.stat()
    ck = (str(path), st.st_size, st.st_mtime_ns, clip.roi, clip.flip, clip.fit, tuple(intervals), size, cache)
    with _cache_lock:
        hit = _cache.get(ck)
    if hit is not None:
        return hit
    frames = _decode(key, clip, path, intervals, size, cache)
    with _cache_lock:
        if len(_cache) >= _CACHE_MAX:
            _cache.pop(next(iter(_cache)))
        _cache[ck] = frames
    return frames


def _decode(
    key: str,
    clip: Clip,
    path: Path,
    intervals: Sequence[tuple[float, float]],
    size: tuple[int, int],
    cache: str,
) -> ClipFrames:
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise CameraError(f"cannot decode clip {path}", code="media_unreadable")
    fps = media_fps(cap, 25.0)
    wanted = [(a - _MARGIN_S, b + _MARGIN_S) for a, b in intervals]
    stop_at = max(b for _, b in wanted)
    times: list[float] = []
    frames: list[np.ndarray | bytes | None] = []
    width, height = size
    try:
        while True:
            ok, bgr = cap.read()
            if not ok or bgr is None:
                break
            t = float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
            if times and t <= times[-1]:
                t = times[-1] + 1.0 / fps
            if t > stop_at:
                break
            times.append(t)
            if not any(a <= t <= b for a, b in wanted):
                frames.append(None)
                continue
            # Frame in BGR (channel order does not matter for cropping and scaling; it saves
            # converting full-resolution frames), then store as JPEG or convert the small frame.
            small = crop_normalized(bgr, clip.roi)
            if clip.flip:
                small = np.ascontiguousarray(small[:, ::-1])
            small = place_on_canvas(small, width, height, clip.fit)
            ok_enc, buf = False, None
            if cache == "jpeg":
                ok_enc, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 95])
            if ok_enc and buf is not None:
                frames.append(buf.tobytes())
            else:
                rgb = bgr_to_rgb(small)
                rgb.setflags(write=False)  # the cache is shared by every frame handed out
                frames.append(rgb)
    finally:
        cap.release()
    kept = sum(f is not None for f in frames)
    if kept == 0:
        raise CameraError(f"clip {path}: no frames in the scenario's segments {list(intervals)}")
    last_needed = max(b for _, b in intervals)
    if times and last_needed > times[-1] + 1.0 / fps:
        log.warning(
            "clip %s ends at %.2f s, before the segment end %.2f s; the last frame is held",
            key,
            times[-1],
            last_needed,
        )
    log.info("actor clip %s: %d of %d frames kept (%s cache)", key, kept, len(times), cache)
    return ClipFrames(key=key, path=path, fps=fps, times=times, frames=frames)


def grab_clip_frame(clip: Clip, at_s: float) -> np.ndarray:
    """The clip's frame shown at ``at_s`` seconds (full resolution, ``flip`` applied, no framing)."""
    import cv2

    path = resolve_media_path(clip.path, what="clip", data_first=True)
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise CameraError(f"cannot decode clip {path}", code="media_unreadable")
    last = None
    try:
        while True:
            ok, bgr = cap.read()
            if not ok or bgr is None:
                break
            t = float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
            if last is not None and t > at_s + 1e-6:
                break
            last = bgr
    finally:
        cap.release()
    if last is None:
        raise CameraError(f"clip {path} has no frames", code="media_unreadable")
    rgb = bgr_to_rgb(last)
    return np.ascontiguousarray(rgb[:, ::-1]) if clip.flip else rgb
