"""Replay a video file (mp4, avi, mov, 3gp, mpg, gif...) as a camera, at its own pace.

Timestamps come from the file (``CAP_PROP_POS_MSEC``), shifted so the first frame is stamped with
the clock's time at ``open()``: ``timestamp_s = t_open + (media_time - first_media_time)``, plus
the length of earlier passes when looping. They strictly increase (a repeated or missing media time
becomes the previous one plus a frame period).

``realtime=True``: a frame is handed out once the clock reaches its timestamp; a late reader gets
the newest due frame and older ones are dropped, as from a live camera. On a real clock ``read``
sleeps up to ``timeout_s``; on a ``FakeClock`` it never sleeps and returns None until the test
advances the clock. ``realtime=False``: every frame in order, at once (analysis and fast tests).

At the end of the file ``read`` raises :class:`~kiosk.camera.source.SourceEnded` (every call), or
starts again when ``loop`` is set.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.camera.frame import Frame
from kiosk.camera.imageops import bgr_to_rgb, downscale_to_fit, fit_size
from kiosk.camera.media_paths import resolve_media_path
from kiosk.camera.pacing import EPSILON_S, wait_until
from kiosk.camera.source import DEFAULT_READ_TIMEOUT_S, SourceBase, SourceEnded, SourceInfo
from kiosk.clock import Clock
from kiosk.config.camera import FileCamera
from kiosk.errors import CameraError

log = logging.getLogger(__name__)

#: A realtime reader further behind than this (seconds of video) is re-anchored instead of decoding
#: everything it missed.
MAX_CATCHUP_S = 2.0

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".avi", ".mov", ".3gp", ".mpg", ".mpeg", ".gif", ".mkv", ".webm"}
)


@dataclass
class _Decoded:
    rgb: np.ndarray
    media_s: float  # the file's own time of this frame
    rel_s: float  # seconds after the first frame of the first pass
    loop: int


def media_fps(cap: Any, default: float) -> float:
    """The container's frame rate, or ``default`` when it reports nothing sensible."""
    import cv2

    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    return fps if math.isfinite(fps) and 0.5 <= fps <= 240 else default


class FileSource(SourceBase):
    """See the module docstring."""

    def __init__(self, cfg: FileCamera, clock: Clock) -> None:
        self._cfg = cfg
        self._clock = clock
        self._name = f"file:{cfg.path}"
        self._info = SourceInfo(self._name, cfg.width_px, cfg.height_px, cfg.fps, is_live=False)
        self._cap: Any = None
        self._path: Path | None = None

    @property
    def info(self) -> SourceInfo:
        return self._info

    def _open_capture(self) -> Any:
        import cv2

        assert self._path is not None
        cap = cv2.VideoCapture(str(self._path))
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"cannot decode video {self._path} (not a video, or a codec OpenCV lacks)")
        return cap

    def open(self) -> None:
        import cv2

        if self._is_open:
            return
        self._path = resolve_media_path(self._cfg.path, what="video file")
        if not self._path.is_file():
            raise CameraError(f"not a video file: {self._path}")
        if self._path.suffix.lower() not in VIDEO_EXTENSIONS:
            log.warning("%s: unusual video extension; trying to decode it anyway", self._path.name)
        self._cap = self._open_capture()
        self._fps = media_fps(self._cap, self._cfg.fps)
        w = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if self._cfg.scale_to_fit and w > 0 and h > 0:
            w, h = fit_size(w, h, self._cfg.width_px, self._cfg.height_px)
        self._info = SourceInfo(self._name, w, h, self._fps, is_live=False)
        self._t0 = self._clock.now()
        self._loop = 0
        self._loop_offset = 0.0
        self._pass_m0: float | None = None
        self._prev_rel: float | None = None
        self._pending: _Decoded | None = None
        self._at_end = False
        self._delivered = 0
        self._is_open = True
        log.info("opened %s (%dx%d, %.2f fps, realtime=%s)", self._name, w, h, self._fps, self._cfg.realtime)

    def _decode_next(self) -> _Decoded | None:
        """The next frame of the file (starting a new pass when looping); None at the real end."""
        import cv2

        for _attempt in range(2):
            ok, bgr = self._cap.read()
            if ok and bgr is not None:
                break
            if not self._cfg.loop or self._prev_rel is None:
                return None
            # Next pass: continue one frame period after the last frame so timestamps keep rising.
            self._cap.release()
            self._cap = self._open_capture()
            self._loop += 1
            self._loop_offset = self._prev_rel + 1.0 / self._fps
            self._pass_m0 = None
        else:
            return None
        media_s = float(self._cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
        if not math.isfinite(media_s) or media_s < 0:
            media_s = 0.0
        if self._pass_m0 is None:
            self._pass_m0 = media_s
        rel = self._loop_offset + (media_s - self._pass_m0)
        if self._prev_rel is not None and rel <= self._prev_rel:
            rel = self._prev_rel + 1.0 / self._fps
        self._prev_rel = rel
        rgb = bgr_to_rgb(bgr)
        if self._cfg.scale_to_fit:
            rgb = downscale_to_fit(rgb, self._cfg.width_px, self._cfg.height_px)
        return _Decoded(rgb, media_s, rel, self._loop)

    def read(self, timeout_s: float = DEFAULT_READ_TIMEOUT_S) -> Frame | None:
        self._require_open()
        if self._pending is None and not self._at_end:
            self._pending = self._decode_next()
            self._at_end = self._pending is None
        if self._pending is None:
            raise SourceEnded(f"end of {self._name}")
        dropped = 0
        if self._cfg.realtime:
            if not wait_until(self._clock, self._t0 + self._pending.rel_s, timeout_s):
                return None
            # A late reader gets the newest frame that is due, like from a live camera. Catching up
            # decodes at most MAX_CATCHUP_S of video; further behind (a paused process, a clock set
            # far ahead), the replay is re-anchored so the current frame is due now.
            now = self._clock.now()
            max_skip = int(MAX_CATCHUP_S * self._fps) + 1
            while True:
                nxt = self._decode_next()
                if nxt is None:
                    self._at_end = True
                    break
                if self._t0 + nxt.rel_s <= now + EPSILON_S:
                    self._pending = nxt
                    dropped += 1
                    if dropped >= max_skip:
                        self._t0 = max(self._t0, now - nxt.rel_s)
                        nxt = None
                        break
                    continue
                break
        else:
            nxt = None
        cur = self._pending
        self._pending = nxt
        frame = Frame(
            rgb=cur.rgb,
            timestamp_s=self._t0 + cur.rel_s,
            index=self._delivered,
            meta={"source": self._name, "media_time_s": cur.media_s, "loop": cur.loop, "dropped": dropped},
        )
        self._delivered += 1
        return frame

    def close(self) -> None:
        cap, self._cap = self._cap, None
        self._is_open = False
        if cap is not None:
            cap.release()
