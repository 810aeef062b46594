"""Find an ID document's outline (a convex quadrilateral) in a photo or a live frame.

Three cues, so one of them works on most backgrounds and with a hand on the card:

* grey edges: Canny on the blurred grey image (thresholds from the median), closed with a dilation;
* colour edges: Canny on the gradient of each colour channel (a pale blue card on a white wall
  differs in one channel only), with thresholds from the image's own gradient statistics and a
  morphological close that bridges small gaps;
* colour regions: each pixel's distance from the background colour, estimated from the image
  border, thresholded with Otsu (a white card on a dark tray, a dark bank card on white paper).

Candidates come from two generators. Closed outlines in those masks are reduced to their convex
hull and simplified to 4 corners. That fails when anything touches the card's edge (the thumb
holding it, the body behind it: the outline then leaks into the clutter), so straight lines are
also found in the edge maps (probabilistic Hough, collinear pieces merged) and pairs of roughly
horizontal and roughly vertical lines are intersected into quadrilaterals: a thumb over one side
or a rounded corner does not move the intersection of the sides.

A candidate is kept only if it looks like a card or a passport page held roughly flat: large enough,
convex, corner angles within ``max_corner_dev_deg`` of 90, a long/short side ratio between
``min_aspect`` and ``max_aspect``, no side on the image border (a document cut by the frame edge is
not "found": the user must bring it fully in view), and its four sides lie on edges: the fraction
of each side (corners excluded) that runs along an edge pixel is its *support*. Contour candidates
must also fill their quadrilateral (rectangularity).

Choice: the largest, most card-like, best supported candidate; and a candidate that contains the
chosen one is preferred to it when its own aspect is a document's (ID-1 1.586 or TD3 1.42, with room
for perspective) and its sides are supported: the card's outline rather than the portrait frame or
a text block printed on it.

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
    min_side_support: float = 0.55
    min_mean_support: float = 0.75
    lines_per_family: int = 12
    max_refined: int = 24


#: Long/short side ratios of the ICAO formats: ID-1 (85.6 x 54 mm) and TD3 (125 x 88 mm).
DOCUMENT_ASPECTS = (1.585, 1.42)
#: A container's side ratio within this relative distance of a document aspect "fits a document"
#: (perspective changes the measured ratio of a card held at an angle by about this much).
CONTAINER_ASPECT_TOLERANCE = 0.16
#: Fraction of a side, at each end, left out of its edge support (rounded card corners).
SUPPORT_END_FRAC = 0.1
#: Where a corner's support is measured along each of its sides (fractions of the side from the
#: corner): past the rounded corner of a card (3.18 mm: 4 % of an ID-1's width, 6 % of its height).
CORNER_WINDOW = (0.07, 0.17)
#: A candidate that contains the chosen one replaces it only if every corner is this well supported.
MIN_CONTAINER_CORNER_SUPPORT = 0.8
#: Edge pixels this far (analysis px) from a side support it in the first, coarse check.
SUPPORT_TOLERANCE_PX = 2
#: Refinement looks for a side's edge pixels this far (analysis px) on either side of it.
REFINE_SEARCH_PX = 4


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


#: The line generator pairs lines within this many degrees of horizontal with lines within this many
#: degrees of vertical (a document turned further is left to the outline generator).
LINE_FAMILY_DEG = 40.0
#: Edge pixels are filed by the direction of their gradient in bins this wide (degrees, 0..180) ...
ORIENT_BIN_DEG = 10
#: ... and support a side whose normal is within this many degrees of their gradient.
ORIENT_TOL_DEG = 30.0


@dataclass(frozen=True)
class _EdgeField:
    """Edges of the colour image with the direction of their gradient (strongest channel).

    ``edges``: closed edge map (uint8 0/255) for outlines. ``horizontal`` / ``vertical``: edge pixels
    of lines within :data:`LINE_FAMILY_DEG` of horizontal / vertical, for the Hough transform.
    ``by_normal[k]``: edge pixels whose gradient is within :data:`ORIENT_TOL_DEG` of ``k *
    ORIENT_BIN_DEG`` degrees; ``near_normal`` the same, dilated by :data:`SUPPORT_TOLERANCE_PX`.
    A side is supported only by edges running along it, so a line through text is not (letters have
    edges in every direction, but few of them along the line)."""

    edges: np.ndarray
    horizontal: np.ndarray
    vertical: np.ndarray
    by_normal: np.ndarray  # (180 // ORIENT_BIN_DEG, h, w) bool
    near_normal: np.ndarray  # same shape, bool


def _edge_field(rgb: np.ndarray) -> _EdgeField:
    """Canny on the strongest of the three channel gradients at each pixel (a pale blue card on a
    white wall differs in one or two channels only); see :class:`_EdgeField`."""
    import cv2

    blur = cv2.GaussianBlur(rgb, (5, 5), 0)
    dx = cv2.Sobel(blur, cv2.CV_16S, 1, 0, ksize=3)
    dy = cv2.Sobel(blur, cv2.CV_16S, 0, 1, ksize=3)
    # Thresholds follow the image's own gradients (bright, contrasty scans vs a dim webcam frame),
    # within bounds that keep sensor noise out and a faint card edge in.
    sub = (np.abs(dx[::4, ::4].astype(np.int32)) + np.abs(dy[::4, ::4].astype(np.int32))).max(axis=2)
    hi = float(np.clip(0.4 * np.percentile(sub, 90), 30.0, 100.0))
    edges = cv2.Canny(dx, dy, 0.4 * hi, hi)  # multichannel: the channel with the largest gradient
    # Edge direction from the colour structure tensor (Di Zenzo), smoothed over a few pixels: on a
    # faint edge the channels' gradients are weak, noisy and may point opposite ways, but their
    # squared sum still has one clear direction.
    gxf, gyf = dx.astype(np.float32), dy.astype(np.float32)
    jxx = cv2.GaussianBlur((gxf * gxf).sum(axis=2), (5, 5), 1.2)
    jyy = cv2.GaussianBlur((gyf * gyf).sum(axis=2), (5, 5), 1.2)
    jxy = cv2.GaussianBlur((gxf * gyf).sum(axis=2), (5, 5), 1.2)
    ys, xs = np.nonzero(edges)
    a, b, c = jxx[ys, xs], jyy[ys, xs], jxy[ys, xs]
    theta = 0.5 * np.arctan2(2.0 * c, a - b)  # the gradient (edge normal) direction, radians
    gx, gy = np.cos(theta), np.sin(theta)
    slope = math.tan(math.radians(LINE_FAMILY_DEG))
    horizontal = np.zeros_like(edges)
    vertical = np.zeros_like(edges)
    is_h = np.abs(gx) <= slope * np.abs(gy)
    is_v = np.abs(gy) <= slope * np.abs(gx)
    horizontal[ys[is_h], xs[is_h]] = 255
    vertical[ys[is_v], xs[is_v]] = 255
    normal = np.degrees(theta) % 180.0
    nb = 180 // ORIENT_BIN_DEG
    by_normal = np.zeros((nb, *edges.shape), bool)
    nearest = np.round(normal / ORIENT_BIN_DEG).astype(np.int64)
    reach = math.ceil(ORIENT_TOL_DEG / ORIENT_BIN_DEG)
    for j in range(-reach, reach + 1):
        k = nearest + j
        diff = np.abs((normal - k * ORIENT_BIN_DEG + 90.0) % 180.0 - 90.0)
        sel = diff <= ORIENT_TOL_DEG
        by_normal[k[sel] % nb, ys[sel], xs[sel]] = True
    tol = 2 * SUPPORT_TOLERANCE_PX + 1
    kernel = np.ones((tol, tol), np.uint8)
    near_normal = np.stack([cv2.dilate(m.view(np.uint8), kernel) > 0 for m in by_normal])
    closed = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    return _EdgeField(closed, horizontal, vertical, by_normal, near_normal)


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


def _hough_lines(edges: np.ndarray, theta_ranges: list[tuple[float, float]], max_lines: int) -> np.ndarray:
    """The strongest straight lines of an edge map, normals within ``theta_ranges`` (degrees), as rows
    (nx, ny, rho, votes): ``nx * x + ny * y = rho``, strongest first. The standard Hough transform
    counts every edge pixel on a line, so a card side broken by a thumb or by a background of its own
    colour still adds up; near-duplicates (within 3 degrees and 6 px) are suppressed."""
    import cv2

    h, w = edges.shape[:2]
    thr = max(20, int(0.1 * min(w, h)))
    parts = []
    for lo, hi in theta_ranges:
        found = cv2.HoughLinesWithAccumulator(
            edges, 1, np.pi / 360, threshold=thr, min_theta=math.radians(lo), max_theta=math.radians(hi)
        )
        if found is not None:
            parts.append(found.reshape(-1, 3))
    if not parts:
        return np.zeros((0, 4))
    found = np.concatenate(parts)
    found = found[np.argsort(-found[:, 2], kind="stable")]
    kept: list[tuple[float, float, float]] = []  # rho, theta, votes
    for rho, theta, votes in found:
        dup = False
        for r2, t2, _ in kept:
            dt = abs(theta - t2)
            near = dt < math.radians(3.0) and abs(rho - r2) <= 6.0
            flipped = math.pi - dt < math.radians(3.0) and abs(rho + r2) <= 6.0  # same line, normal flipped
            if near or flipped:
                dup = True
                break
        if not dup:
            kept.append((float(rho), float(theta), float(votes)))
            if len(kept) >= max_lines:
                break
    arr = np.array(kept, dtype=np.float64)
    return np.stack([np.cos(arr[:, 1]), np.sin(arr[:, 1]), arr[:, 0], arr[:, 2]], axis=1)


def _line_candidates(ce: _EdgeField, opts: QuadOptions) -> np.ndarray:
    """Quadrilaterals (N, 4, 2), TL TR BR BL, made of two roughly horizontal and two roughly vertical
    lines, pre-filtered on geometry (inside the image, size, aspect)."""
    h, w = ce.edges.shape[:2]
    k, d = opts.lines_per_family, LINE_FAMILY_DEG
    hs = _hough_lines(ce.horizontal, [(90.0 - d, 90.0 + d)], k)
    vs = _hough_lines(ce.vertical, [(0.0, d), (180.0 - d, 180.0)], k)
    if len(hs) < 2 or len(vs) < 2:
        return np.zeros((0, 4, 2))
    # Order each family across the image: horizontals by height at mid-width, verticals by x at mid-height.
    hs = hs[np.argsort((hs[:, 2] - hs[:, 0] * w / 2.0) / hs[:, 1])]
    vs = vs[np.argsort((vs[:, 2] - vs[:, 1] * h / 2.0) / vs[:, 0])]
    hi, hj = np.triu_indices(len(hs), 1)
    vi, vj = np.triu_indices(len(vs), 1)
    hp = np.stack([hi, hj], 1)
    vp = np.stack([vi, vj], 1)
    combo_h = np.repeat(hp, len(vp), axis=0)
    combo_v = np.tile(vp, (len(hp), 1))
    top_l, bot_l = hs[combo_h[:, 0]], hs[combo_h[:, 1]]
    left_l, right_l = vs[combo_v[:, 0]], vs[combo_v[:, 1]]

    def meet(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        det = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
        det = np.where(np.abs(det) < 1e-9, np.nan, det)
        x = (a[:, 2] * b[:, 1] - a[:, 1] * b[:, 2]) / det
        y = (a[:, 0] * b[:, 2] - a[:, 2] * b[:, 0]) / det
        return np.stack([x, y], axis=1)

    corners = [meet(top_l, left_l), meet(top_l, right_l), meet(bot_l, right_l), meet(bot_l, left_l)]
    quads = np.stack(corners, 1)
    ok = np.all(np.isfinite(quads), axis=(1, 2))
    m = 0.02 * max(w, h)
    ok &= np.all((quads[..., 0] >= -m) & (quads[..., 0] <= w - 1 + m), axis=1)
    ok &= np.all((quads[..., 1] >= -m) & (quads[..., 1] <= h - 1 + m), axis=1)
    quads = quads[ok]
    if len(quads) == 0:
        return np.zeros((0, 4, 2))
    x, y = quads[..., 0], quads[..., 1]
    area = 0.5 * np.abs(np.sum(x * np.roll(y, -1, 1) - y * np.roll(x, -1, 1), axis=1))
    sides = np.linalg.norm(np.roll(quads, -1, 1) - quads, axis=2)  # top, right, bottom, left
    long_ = np.maximum(sides[:, 0] + sides[:, 2], sides[:, 1] + sides[:, 3])
    short_ = np.maximum(1e-6, np.minimum(sides[:, 0] + sides[:, 2], sides[:, 1] + sides[:, 3]))
    ratio = long_ / short_
    keep = (area >= opts.min_area_frac * w * h) & (ratio >= opts.min_aspect) & (ratio <= opts.max_aspect)
    return quads[keep]


def _side_geometry(quads: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per side of (N, 4, 2) quads: start point, vector to the end, unit normal, orientation bin."""
    a = quads
    d = np.roll(quads, -1, axis=1) - a
    length = np.maximum(np.linalg.norm(d, axis=2, keepdims=True), 1e-9)
    u = d / length
    nrm = np.stack([-u[..., 1], u[..., 0]], axis=2)
    ang = np.degrees(np.arctan2(nrm[..., 1], nrm[..., 0])) % 180.0
    nb = 180 // ORIENT_BIN_DEG
    bins = np.round(ang / ORIENT_BIN_DEG).astype(np.int64) % nb
    return a, d, nrm, bins


def _lookup(maps: np.ndarray, bins: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """``maps[bin]`` at points ``pts`` (..., 2); ``bins`` broadcasts against ``pts[..., 0]``. Points
    off the image are False."""
    _, h, w = maps.shape
    x, y = pts[..., 0], pts[..., 1]
    xi = np.clip(np.round(x).astype(np.int64), 0, w - 1)
    yi = np.clip(np.round(y).astype(np.int64), 0, h - 1)
    inside = (x >= -0.5) & (x <= w - 0.5) & (y >= -0.5) & (y <= h - 0.5)
    return maps[np.broadcast_to(bins, xi.shape), yi, xi] & inside


def _sample_sides(quads: np.ndarray, maps: np.ndarray, t0: float, t1: float, n: int) -> np.ndarray:
    """(N, 4, n) whether ``n`` points from ``t0`` to ``t1`` along each side (0: its first corner) are
    on the side's orientation map."""
    a, d, _, bins = _side_geometry(quads)
    t = np.linspace(t0, t1, n)
    base = a[:, :, None, :] + d[:, :, None, :] * t[None, None, :, None]
    return _lookup(maps, bins[:, :, None], base)


def _fine_support(quads: np.ndarray, field: _EdgeField, t0: float, t1: float, n: int) -> np.ndarray:
    """(N, 4, n) whether an edge pixel running along each side lies within 1 px of it."""
    a, d, nrm, bins = _side_geometry(quads)
    t = np.linspace(t0, t1, n)
    base = a[:, :, None, :] + d[:, :, None, :] * t[None, None, :, None]
    hit = np.zeros(base.shape[:3], bool)
    for o in (-1, 0, 1):
        hit |= _lookup(field.by_normal, bins[:, :, None], base + o * nrm[:, :, None, :])
    return hit


def _support(quads: np.ndarray, field: _EdgeField) -> tuple[np.ndarray, np.ndarray]:
    """Edge support of refined candidates: (N, 4) per side, ends left out, and (N, 4) per corner.

    A corner's support is the mean support of its two sides just past the rounding of a card's corner
    (:data:`CORNER_WINDOW`): a real corner has both sides there, while a false corner made by a side
    line running on past the document's end, or by a background line, lacks one."""
    if len(quads) == 0:
        return np.zeros((0, 4)), np.zeros((0, 4))
    sides = _fine_support(quads, field, SUPPORT_END_FRAC, 1.0 - SUPPORT_END_FRAC, 40).mean(axis=2)
    c0, c1 = CORNER_WINDOW
    starts = _fine_support(quads, field, c0, c1, 8).mean(axis=2)  # side i near corner i
    ends = _fine_support(quads, field, 1.0 - c1, 1.0 - c0, 8).mean(axis=2)  # side i near corner i+1
    corners = (starts + np.roll(ends, 1, axis=1)) / 2.0  # corner i: start of side i, end of side i-1
    return sides, corners


def _refine(quads: np.ndarray, field: _EdgeField, search_px: int = REFINE_SEARCH_PX) -> np.ndarray:
    """Each side moved onto the edge pixels running along it (the nearest within ``search_px``), by a
    robust straight-line fit of their offsets; corners recomputed as the sides' intersections. Brings
    a Hough line to sub-pixel accuracy and an outline simplified around rounded corners onto the
    card's real sides. A side with too few edge pixels along it stays where it was."""
    if len(quads) == 0:
        return quads
    n = 48
    a, d, nrm, bins = _side_geometry(quads)
    t = np.linspace(SUPPORT_END_FRAC, 1.0 - SUPPORT_END_FRAC, n)
    offs = np.arange(-search_px, search_px + 1, dtype=np.float64)
    base = a[:, :, None, :] + d[:, :, None, :] * t[None, None, :, None]  # (N, 4, n, 2)
    pts = base[:, :, :, None, :] + offs[None, None, None, :, None] * nrm[:, :, None, None, :]
    hit = _lookup(field.by_normal, bins[:, :, None, None], pts)  # (N, 4, n, S)
    dist = np.where(hit, np.abs(offs)[None, None, None, :], np.inf)
    k = np.argmin(dist, axis=3)
    found = np.isfinite(np.take_along_axis(dist, k[..., None], axis=3)[..., 0])
    o = offs[k]  # offset of the nearest edge pixel along the normal, per sample
    use = found.copy()
    c0 = np.zeros(o.shape[:2])
    c1 = np.zeros(o.shape[:2])
    for _ in range(2):  # least squares o = c0 + c1 * t, then again without the outliers
        wgt = use.astype(np.float64)
        sw = wgt.sum(axis=2)
        st, so = (wgt * t).sum(axis=2), (wgt * o).sum(axis=2)
        stt, sto = (wgt * t * t).sum(axis=2), (wgt * t * o).sum(axis=2)
        den = sw * stt - st * st
        ok = (sw >= 0.3 * n) & (np.abs(den) > 1e-9)
        safe = np.where(ok, den, 1.0)
        c1 = np.where(ok, (sw * sto - st * so) / safe, 0.0)
        c0 = np.where(ok, (so - c1 * st) / np.where(sw > 0, sw, 1.0), 0.0)
        resid = np.abs(o - (c0[..., None] + c1[..., None] * t))
        use = found & (resid <= 1.5)
    p0 = a + c0[..., None] * nrm  # the fitted side through p0 and p1
    p1 = a + d + (c0 + c1)[..., None] * nrm
    # Corner i = intersection of side i-1 and side i (homogeneous lines).
    ones = np.ones((*p0.shape[:2], 1))
    lines = np.cross(np.concatenate([p0, ones], 2), np.concatenate([p1, ones], 2))
    pt = np.cross(np.roll(lines, 1, axis=1), lines)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pt[..., :2] / pt[..., 2:3]
    bad = ~np.all(np.isfinite(out), axis=(1, 2)) | (np.abs(out - quads).max(axis=(1, 2)) > 4 * search_px)
    out[bad] = quads[bad]
    return out


def _fits_document(quad: np.ndarray) -> bool:
    t, r, b, l = Quad(quad.astype(np.float32)).side_lengths  # noqa: E741
    ratio = max(t + b, r + l) / max(1e-6, min(t + b, r + l))
    return any(abs(ratio - a) / a <= CONTAINER_ASPECT_TOLERANCE for a in DOCUMENT_ASPECTS)


def _contains(outer: np.ndarray, inner: np.ndarray) -> bool:
    """All of ``inner``'s corners inside ``outer`` (2 px slack), and ``outer`` clearly larger."""
    import cv2

    poly = outer.reshape(-1, 1, 2).astype(np.float32)
    if not all(cv2.pointPolygonTest(poly, (float(x), float(y)), True) >= -2.0 for x, y in inner):
        return False
    return float(cv2.contourArea(poly)) >= 1.15 * float(cv2.contourArea(inner.astype(np.float32)))


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
    field = _edge_field(rgb)
    outlines: list[tuple[np.ndarray, float]] = []  # quad, hull area of its outline
    for mask in (_edge_mask(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)), field.edges, _colour_mask(rgb)):
        if mask is not None:
            outlines += _contour_candidates(mask, opts)
    # Line quads are many: keep those whose sides run along edges (coarsely), largest first.
    lq = _line_candidates(field, opts)
    if len(lq):
        ends = (SUPPORT_END_FRAC, 1.0 - SUPPORT_END_FRAC)
        coarse = _sample_sides(lq, field.near_normal, *ends, 16).mean(axis=2)
        keep = (coarse.min(axis=1) >= 0.5) & (coarse.mean(axis=1) >= 0.7)
        lq, coarse = lq[keep], coarse[keep]
        x, y = lq[..., 0], lq[..., 1]
        area = 0.5 * np.abs(np.sum(x * np.roll(y, -1, 1) - y * np.roll(x, -1, 1), axis=1))
        lq = lq[np.argsort(-area * coarse.mean(axis=1) ** 2)[: opts.max_refined]]
    raw = [(q.astype(np.float64), a) for q, a in outlines] + [(q, -1.0) for q in lq]
    if not raw:
        return []
    quads = _refine(np.stack([q for q, _ in raw]), field)
    side_sup, corner_sup = _support(quads, field)
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
