"""Find an ID document's outline (a convex quadrilateral) in a photo or a live frame.

Two independent cues, so one of them works on most backgrounds:

* edges: Canny on the blurred grey image (thresholds from the median), closed with a dilation;
* colour: each pixel's distance from the background colour, estimated from the image border,
  thresholded with Otsu (a white card on a dark tray, a dark bank card on white paper).

Each closed outline is reduced to its convex hull and simplified to 4 corners. A candidate is kept
only if it looks like a card or a passport page held roughly flat: large enough, convex, corner
angles within ``max_corner_dev_deg`` of 90, a long/short side ratio between ``min_aspect`` and
``max_aspect``, its outline fills the quadrilateral (rectangularity), and no side lies on the image
border (a document cut by the frame edge is not "found": the user must bring it fully in view).
Everything runs on a copy at most ``work_px`` wide; corners come back in input pixels.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from kiosk.document.types import Quad

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuadOptions:
    """``min_area_frac``: smallest document, as a fraction of the image area. ``work_px``: the
    longest side of the analysis copy. ``border_px``: a side closer than this to the image border
    (in analysis pixels) counts as lying on it."""

    min_area_frac: float = 0.08
    work_px: int = 640
    min_aspect: float = 1.2
    max_aspect: float = 1.9
    max_corner_dev_deg: float = 35.0
    min_rectangularity: float = 0.85
    border_px: float = 3.0


def order_corners(pts: np.ndarray) -> np.ndarray:
    """4 points ordered top-left, top-right, bottom-right, bottom-left (clockwise in image terms)."""
    p = np.asarray(pts, dtype=np.float32).reshape(4, 2)
    c = p.mean(axis=0)
    ang = np.arctan2(p[:, 1] - c[1], p[:, 0] - c[0])
    p = p[np.argsort(ang)]  # clockwise on screen (y down), starting anywhere
    start = int(np.argmin(p[:, 0] + p[:, 1]))
    return np.roll(p, -start, axis=0)


def corner_angles(p: np.ndarray) -> list[float]:
    out = []
    for i in range(4):
        a, b, c = p[i - 1], p[i], p[(i + 1) % 4]
        v1, v2 = a - b, c - b
        cos = float(np.dot(v1, v2) / max(1e-9, np.linalg.norm(v1) * np.linalg.norm(v2)))
        out.append(math.degrees(math.acos(max(-1.0, min(1.0, cos)))))
    return out


def _to_quad(contour: np.ndarray) -> np.ndarray | None:
    import cv2

    hull = cv2.convexHull(contour)
    peri = cv2.arcLength(hull, True)
    for eps in (0.01, 0.02, 0.03, 0.045, 0.06, 0.08):
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) == 4:
            return approx.reshape(4, 2).astype(np.float32)
        if len(approx) < 4:
            return None
    return None


def _score(quad: np.ndarray, contour_area: float, size: tuple[int, int], opts: QuadOptions) -> float:
    """0 when the quad is not a plausible document, else a card-likeness score (bigger is better)."""
    import cv2

    w, h = size
    area = float(cv2.contourArea(quad))
    if area < opts.min_area_frac * w * h:
        return 0.0
    if not cv2.isContourConvex(quad.reshape(-1, 1, 2).astype(np.float32)):
        return 0.0
    angles = corner_angles(quad)
    if max(abs(a - 90.0) for a in angles) > opts.max_corner_dev_deg:
        return 0.0
    q = Quad(quad)
    t, r, b, l = q.side_lengths  # noqa: E741
    ratio = max(t + b, r + l) / max(1e-6, min(t + b, r + l))
    if not (opts.min_aspect <= ratio <= opts.max_aspect):
        return 0.0
    rect = contour_area / max(area, 1e-6)
    if rect < opts.min_rectangularity or rect > 2.0 - opts.min_rectangularity:
        return 0.0
    bp = opts.border_px
    for i in range(4):
        a, c = quad[i], quad[(i + 1) % 4]
        for axis, limit in ((0, 0.0), (0, w - 1.0), (1, 0.0), (1, h - 1.0)):
            if abs(a[axis] - limit) <= bp and abs(c[axis] - limit) <= bp:
                return 0.0  # this side is the image border, not the document's edge
    # Closeness to a known ICAO aspect (ID-1 1.585, TD3 1.42) and squareness of the corners.
    aspect_pen = min(abs(ratio - 1.585), abs(ratio - 1.42))
    angle_pen = sum(abs(a - 90.0) for a in angles) / 360.0
    return float((area / (w * h)) * min(1.0, rect) * (1.0 - min(0.5, aspect_pen)) * (1.0 - angle_pen))


def _edge_mask(grey: np.ndarray) -> np.ndarray:
    import cv2

    blur = cv2.GaussianBlur(grey, (5, 5), 0)
    med = float(np.median(blur))
    lo, hi = max(10.0, 0.5 * med), min(255.0, max(40.0, 1.2 * med))
    edges = cv2.Canny(blur, lo, hi)
    return cv2.dilate(edges, np.ones((3, 3), np.uint8), iterations=1)


def _colour_mask(rgb: np.ndarray) -> np.ndarray | None:
    import cv2

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    h, w = lab.shape[:2]
    b = max(2, min(h, w) // 40)
    border = np.concatenate(
        [
            lab[:b].reshape(-1, 3),
            lab[-b:].reshape(-1, 3),
            lab[:, :b].reshape(-1, 3),
            lab[:, -b:].reshape(-1, 3),
        ]
    )
    bg = np.median(border, axis=0)
    spread = float(np.median(np.linalg.norm(border - bg, axis=1)))
    dist = np.linalg.norm(lab - bg, axis=2)
    if float(dist.max()) < 12.0:
        return None  # nothing differs from the border colour
    d8 = np.clip(dist * (255.0 / max(float(dist.max()), 1.0)), 0, 255).astype(np.uint8)
    thr, mask = cv2.threshold(d8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if thr * float(dist.max()) / 255.0 < max(8.0, 2.0 * spread):
        return None  # the split is within the background's own variation
    k = np.ones((5, 5), np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, k, iterations=2)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, k, iterations=1)
    return mask


def find_document_quad(rgb: np.ndarray, options: QuadOptions | None = None) -> Quad | None:
    """The most card-like quadrilateral in ``rgb`` (RGB uint8), in ``rgb``'s pixels, or None."""
    import cv2

    opts = options or QuadOptions()
    h0, w0 = rgb.shape[:2]
    scale = min(1.0, opts.work_px / max(h0, w0))
    small = (
        rgb
        if scale >= 1.0
        else cv2.resize(rgb, (round(w0 * scale), round(h0 * scale)), interpolation=cv2.INTER_AREA)
    )
    h, w = small.shape[:2]
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)

    masks = [_edge_mask(grey)]
    cm = _colour_mask(small)
    if cm is not None:
        masks.append(cm)

    best: tuple[float, np.ndarray] | None = None
    for mask in masks:
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        for cnt in contours:
            # The closed outline's area; for an edge map the filled hull stands in for it.
            hull_area = float(cv2.contourArea(cv2.convexHull(cnt)))
            if hull_area < opts.min_area_frac * w * h:
                continue
            quad = _to_quad(cnt)
            if quad is None:
                continue
            quad = order_corners(quad)
            s = _score(quad, hull_area, (w, h), opts)
            if s > 0 and (best is None or s > best[0]):
                best = (s, quad)
    if best is None:
        return None
    corners = best[1] / scale
    return Quad(corners=corners.astype(np.float32), score=round(best[0], 4))
