"""Find an ID document's outline (a convex quadrilateral) in a photo or a live frame.

Candidates come from two generators:

* closed outlines, reduced to their convex hull and simplified to 4 corners, in three masks so one
  works on most backgrounds: grey edges (Canny, thresholds from the median), colour edges (see
  :mod:`kiosk.document.edges`: a pale card on a white wall differs in one channel only) and colour
  regions (distance from the background colour estimated on the image border, Otsu: a white card on a
  dark tray, a dark bank card on white paper);
* straight lines (:func:`kiosk.document.edges.line_quads`): an outline leaks into whatever touches
  the card (the thumb holding it, the body behind it) and its hull is then not the card, but the
  intersections of its sides still are.

Each candidate's sides are then moved onto the edges they lie on (:func:`~kiosk.document.edges.refine`)
and it is kept only if it looks like a card or a passport page held roughly flat: large enough,
convex, corner angles within ``max_corner_dev_deg`` of 90, a long/short side ratio between
``min_aspect`` and ``max_aspect``, all corners in view and no side on the image border (a document
cut by the frame edge is not "found": the user must bring it fully in view), outlines filling their
quadrilateral (rectangularity), and its four sides running along edges of their own direction
(*support*, at least ``min_side_support`` for each side and ``min_mean_support`` on average).

Choice: the largest, most card-like, best supported candidate (area x shape x side support x corner
support), then

* a candidate that contains it replaces it when its own aspect is a document's (ID-1 1.586 or TD3
  1.42, with room for perspective) and all its corners are supported: the card's outline rather than
  the portrait frame, a colour band or a text block printed on it;
* and when the choice is two documents side by side (the front and back of a card scanned together),
  the better of the two.

Everything runs on a copy at most ``work_px`` wide; corners come back in input pixels.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from kiosk.document.edges import coarse_support, edge_field, line_quads, refine, support
from kiosk.document.types import Quad

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuadOptions:
    """``min_area_frac``: smallest document, as a fraction of the image area. ``work_px``: the
    longest side of the analysis copy. ``border_px``: a side closer than this to the image border
    (in analysis pixels) counts as lying on it. ``min_side_support`` / ``min_mean_support``: the
    least supported side's and the four sides' mean support (0..1), at least. ``lines_per_family``:
    strongest lines of each direction that the line generator pairs up. ``max_refined``: line quads
    refined and scored, the largest well-supported first."""

    min_area_frac: float = 0.08
    work_px: int = 640
    min_aspect: float = 1.2
    max_aspect: float = 1.9
    max_corner_dev_deg: float = 35.0
    min_rectangularity: float = 0.85
    border_px: float = 3.0
    min_side_support: float = 0.55
    min_mean_support: float = 0.75
    lines_per_family: int = 12
    max_refined: int = 24


#: Long/short side ratios of the ICAO formats: ID-1 (85.6 x 54 mm) and TD3 (125 x 88 mm).
DOCUMENT_ASPECTS = (1.585, 1.42)
#: A container's side ratio within this relative distance of a document aspect "fits a document"
#: (perspective changes the measured ratio of a card held at an angle by about this much).
CONTAINER_ASPECT_TOLERANCE = 0.16
#: A candidate that contains the chosen one replaces it only if every corner is this well supported.
MIN_CONTAINER_CORNER_SUPPORT = 0.8


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
    if quad[:, 0].min() < -1.0 or quad[:, 1].min() < -1.0 or quad[:, 0].max() > w or quad[:, 1].max() > h:
        return 0.0  # a corner is out of view: the document is cut by the frame edge
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


def _contour_candidates(mask: np.ndarray, opts: QuadOptions) -> list[tuple[np.ndarray, float]]:
    """(ordered quad, hull area) of each closed outline in ``mask`` big enough to be a document."""
    import cv2

    h, w = mask.shape[:2]
    out = []
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    for cnt in contours:
        # The closed outline's area; for an edge map the filled hull stands in for it.
        hull_area = float(cv2.contourArea(cv2.convexHull(cnt)))
        if hull_area < opts.min_area_frac * w * h:
            continue
        quad = _to_quad(cnt)
        if quad is not None:
            out.append((order_corners(quad), hull_area))
    return out


def _fits_document(quad: np.ndarray) -> bool:
    t, r, b, l = Quad(quad.astype(np.float32)).side_lengths  # noqa: E741
    ratio = max(t + b, r + l) / max(1e-6, min(t + b, r + l))
    return any(abs(ratio - a) / a <= CONTAINER_ASPECT_TOLERANCE for a in DOCUMENT_ASPECTS)


def _contains(outer: np.ndarray, inner: np.ndarray) -> bool:
    """All of ``inner``'s corners inside ``outer`` (2 px slack), and ``outer`` larger (not a copy of it)."""
    import cv2

    poly = outer.reshape(-1, 1, 2).astype(np.float32)
    if not all(cv2.pointPolygonTest(poly, (float(x), float(y)), True) >= -2.0 for x, y in inner):
        return False
    return float(cv2.contourArea(poly)) >= 1.02 * float(cv2.contourArea(inner.astype(np.float32)))


@dataclass(frozen=True)
class _Candidate:
    quad: np.ndarray
    score: float
    support: float  # mean support of the sides
    corner_support: float  # the least supported corner's support


def _candidates(rgb: np.ndarray, opts: QuadOptions) -> list[_Candidate]:
    """Every plausible document outline in ``rgb`` (analysis size), refined and scored."""
    import cv2

    h, w = rgb.shape[:2]
    field = edge_field(rgb)
    outlines: list[tuple[np.ndarray, float]] = []  # quad, hull area of its outline
    for mask in (_edge_mask(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)), field.edges, _colour_mask(rgb)):
        if mask is not None:
            outlines += _contour_candidates(mask, opts)
    # Line quads are many: keep those whose sides run along edges (coarsely), largest first.
    lq = line_quads(field, opts.min_area_frac, opts.min_aspect, opts.max_aspect, opts.lines_per_family)
    if len(lq):
        coarse = coarse_support(lq, field)
        keep = (coarse.min(axis=1) >= 0.5) & (coarse.mean(axis=1) >= 0.7)
        lq, coarse = lq[keep], coarse[keep]
        x, y = lq[..., 0], lq[..., 1]
        area = 0.5 * np.abs(np.sum(x * np.roll(y, -1, 1) - y * np.roll(x, -1, 1), axis=1))
        lq = lq[np.argsort(-area * coarse.mean(axis=1) ** 2)[: opts.max_refined]]
    raw = [(q.astype(np.float64), a) for q, a in outlines] + [(q, -1.0) for q in lq]
    if not raw:
        return []
    quads = refine(np.stack([q for q, _ in raw]), field)
    side_sup, corner_sup = support(quads, field)
    out = []
    for quad, (_, hull_area), sup, csup in zip(quads, raw, side_sup, corner_sup):
        if sup.min() < opts.min_side_support or sup.mean() < opts.min_mean_support:
            continue
        quad = order_corners(quad.astype(np.float32))
        area = float(cv2.contourArea(quad))
        # Rectangularity: the outline's hull against the refined quad (line quads have no outline).
        s = _score(quad, hull_area if hull_area > 0 else area, (w, h), opts)
        if s > 0:
            mean_sup, corner = float(sup.mean()), float(csup.min())
            out.append(_Candidate(quad, s * mean_sup * corner, mean_sup, corner))
    return out


def _choose(cands: list[_Candidate]) -> _Candidate | None:
    """The best-scoring candidate, replaced by the best document-shaped candidate containing it
    (repeatedly): the card's outline wins over the portrait frame or a text block printed on it."""
    if not cands:
        return None
    best = max(cands, key=lambda c: c.score)
    for _ in range(len(cands)):
        outers = [
            c
            for c in cands
            if c is not best
            and c.corner_support >= MIN_CONTAINER_CORNER_SUPPORT
            and _fits_document(c.quad)
            and _contains(c.quad, best.quad)
        ]
        if not outers:
            break
        best = max(outers, key=lambda c: c.score)
    return _one_of_two(best, cands)


def _one_of_two(best: _Candidate, cands: list[_Candidate]) -> _Candidate:
    """When ``best`` is two documents side by side (the front and back of a card scanned together, the
    two pages of an open passport: two well-cornered document-shaped candidates inside it that together
    fill it), the better of the two; else ``best``."""
    import cv2

    def area(c: _Candidate) -> float:
        return float(cv2.contourArea(c.quad.astype(np.float32)))

    total = area(best)
    parts = [
        c
        for c in cands
        if c is not best
        and c.corner_support >= MIN_CONTAINER_CORNER_SUPPORT
        and _fits_document(c.quad)
        and _contains(best.quad, c.quad)
    ]
    pairs = []
    for i, a in enumerate(parts):
        for b in parts[i + 1 :]:
            inter, _ = cv2.intersectConvexConvex(a.quad.astype(np.float32), b.quad.astype(np.float32))
            if inter <= 0.05 * min(area(a), area(b)) and area(a) + area(b) >= 0.8 * total:
                pairs.append(max(a, b, key=lambda c: c.score))
    return max(pairs, key=lambda c: c.score) if pairs else best


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
    best = _choose(_candidates(small, opts))
    if best is None:
        return None
    corners = best.quad / scale
    return Quad(corners=corners.astype(np.float32), score=round(best.score, 4))
