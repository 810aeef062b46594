"""Screen / print border ("bezel") check: straight edges framing the face closely on several sides.

A phone or tablet held up to the camera, or a printed photo, puts long straight edges around the
face: the screen's bezel or the paper's border, within a fraction of a face width of the face. Real
scenes have straight lines too (doors, shelves), but rarely on three sides of a face AND that
close. For each frame, :func:`bezel_sides` looks for a long straight edge left of, right of, above
and below the face box inside a margin of ``BEZEL_MARGIN`` face sizes, each edge spanning at least
``SPAN_MIN`` of the face along its side; :class:`ScreenMonitor` flags a screen or print when
``bezel_min_sides`` sides are found for ``bezel_min_s``.

Moire and flicker cues are not implemented: the data holds only two tiny replay samples (one where
the landmarker does not even find the on-screen face), too little to measure them honestly.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from kiosk.config.liveness import SpoofConfig

log = logging.getLogger(__name__)

BEZEL_MARGIN = 0.8  # search this many face sizes beyond the face box
SPAN_MIN = 0.8  # an edge must run along this fraction of the face's side
ANGLE_TOL_DEG = 12.0
WORK_FACE_PX = 96  # the region is resized so the face is about this many pixels wide
CHECK_INTERVAL_S = 0.1  # look at most this often (it costs ~3 ms a look; a bezel must persist 0.5 s)


def bezel_sides(rgb: np.ndarray, box: tuple[float, float, float, float]) -> int:
    """How many of the face's 4 sides have a long straight edge close by (0..4)."""
    import cv2

    h_img, w_img = rgb.shape[:2]
    x, y, w, h = box
    if w < 8 or h < 8:
        return 0
    mx, my = BEZEL_MARGIN * w, BEZEL_MARGIN * h
    x0, y0 = max(0, int(x - mx)), max(0, int(y - my))
    x1, y1 = min(w_img, int(x + w + mx)), min(h_img, int(y + h + my))
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    if crop.shape[0] < 8 or crop.shape[1] < 8:
        return 0
    s = WORK_FACE_PX / w
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    grey = cv2.resize(
        grey,
        (max(8, round(crop.shape[1] * s)), max(8, round(crop.shape[0] * s))),
        interpolation=cv2.INTER_AREA,
    )
    edges = cv2.Canny(cv2.GaussianBlur(grey, (3, 3), 0), 40, 120)
    fx0, fy0 = (x - x0) * s, (y - y0) * s
    fx1, fy1 = fx0 + w * s, fy0 + h * s
    fw, fh = w * s, h * s
    lines = cv2.HoughLinesP(
        edges, 1, np.pi / 180, threshold=30, minLineLength=int(SPAN_MIN * min(fw, fh)), maxLineGap=4
    )
    if lines is None:
        return 0
    found = {"left": False, "right": False, "top": False, "bottom": False}
    for lx0, ly0, lx1, ly1 in np.asarray(lines, dtype=np.float64).reshape(-1, 4):
        ang = abs(math.degrees(math.atan2(ly1 - ly0, lx1 - lx0))) % 180
        if min(abs(ang - 90), abs(ang - 270)) <= ANGLE_TOL_DEG:  # vertical
            lo, hi = sorted((ly0, ly1))
            overlap = max(0.0, min(hi, fy1) - max(lo, fy0)) / fh
            xm = 0.5 * (lx0 + lx1)
            if overlap >= SPAN_MIN:
                if xm < fx0:
                    found["left"] = True
                elif xm > fx1:
                    found["right"] = True
        elif min(ang, 180 - ang) <= ANGLE_TOL_DEG:  # horizontal
            lo, hi = sorted((lx0, lx1))
            overlap = max(0.0, min(hi, fx1) - max(lo, fx0)) / fw
            ym = 0.5 * (ly0 + ly1)
            if overlap >= SPAN_MIN:
                if ym < fy0:
                    found["top"] = True
                elif ym > fy1:
                    found["bottom"] = True
    return sum(found.values())


class ScreenMonitor:
    """``update(t, rgb, box)`` is True once a bezel was seen continuously for ``bezel_min_s``."""

    def __init__(self, cfg: SpoofConfig) -> None:
        self.cfg = cfg
        self._since: float | None = None
        self._last_check: float | None = None
        self._last_n = 0
        self.max_sides = 0

    def update(self, t: float, rgb: np.ndarray, box: tuple[float, float, float, float]) -> bool:
        if self._last_check is None or t - self._last_check >= CHECK_INTERVAL_S - 1e-9:
            self._last_check = t
            self._last_n = bezel_sides(rgb, box)
        n = self._last_n
        self.max_sides = max(self.max_sides, n)
        if n >= self.cfg.bezel_min_sides:
            if self._since is None:
                self._since = t
            return t - self._since + 1e-9 >= self.cfg.bezel_min_s
        self._since = None
        return False
