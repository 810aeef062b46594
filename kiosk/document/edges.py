"""Edge evidence for document outlines: where the edges are, which way they run, and how well a
candidate quadrilateral's sides lie on them.

* :func:`edge_field`: Canny on the colour gradient (the channel with the largest gradient at each
  pixel: a pale blue card on a white wall differs in one or two channels only), thresholds from the
  image's own gradient statistics, closed morphologically; each edge pixel's direction from the
  colour structure tensor, and the pixels filed by direction.
* :func:`line_quads`: the strongest roughly horizontal and roughly vertical straight lines (standard
  Hough transform, each family voted for only by edge pixels running its way) intersected in pairs
  into quadrilaterals. A thumb over one side or a rounded corner does not move the intersection of
  the sides, and clutter touching the card (the hand, the body behind it) does not merge with it.
* :func:`support`: the fraction of each side (corners excluded) that runs along edge pixels of its
  own direction, and the same just past each corner (a real corner has both its sides there).
* :func:`refine`: each side moved onto its edge pixels by a robust line fit; corners recomputed.

All work in analysis pixels; quads are (N, 4, 2) float arrays, corners TL, TR, BR, BL.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

#: Fraction of a side, at each end, left out of its edge support (rounded card corners).
SUPPORT_END_FRAC = 0.1
#: Where a corner's support is measured along each of its sides (fractions of the side from the
#: corner): past the rounded corner of a card (3.18 mm: 4 % of an ID-1's width, 6 % of its height).
CORNER_WINDOW = (0.07, 0.17)
#: Edge pixels this far (analysis px) from a side support it in the first, coarse check.
SUPPORT_TOLERANCE_PX = 2
#: Refinement looks for a side's edge pixels this far (analysis px) on either side of it.
REFINE_SEARCH_PX = 4


#: The line generator pairs lines within this many degrees of horizontal with lines within this many
#: degrees of vertical (a document turned further is left to the outline generator).
LINE_FAMILY_DEG = 40.0
#: Edge pixels are filed by the direction of their gradient in bins this wide (degrees, 0..180) ...
ORIENT_BIN_DEG = 10
#: ... and support a side whose normal is within this many degrees of their gradient.
ORIENT_TOL_DEG = 30.0


@dataclass(frozen=True)
class EdgeField:
    """Edges of a colour image with the direction they run.

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


def edge_field(rgb: np.ndarray) -> EdgeField:
    """Canny on the strongest of the three channel gradients at each pixel (a pale blue card on a
    white wall differs in one or two channels only); see :class:`EdgeField`."""
    import cv2

    blur = cv2.GaussianBlur(rgb, (5, 5), 0)
    dx = cv2.Sobel(blur, cv2.CV_16S, 1, 0, ksize=3)
    dy = cv2.Sobel(blur, cv2.CV_16S, 0, 1, ksize=3)
    # Thresholds follow the image's own gradients (bright, contrasty scans vs a dim webcam frame),
    # within bounds that keep sensor noise out and a faint card edge in.
    gxs = [c.astype(np.float32) for c in cv2.split(dx)]  # per channel: contiguous planes are fast
    gys = [c.astype(np.float32) for c in cv2.split(dy)]
    sub = np.max([np.abs(gx[::4, ::4]) + np.abs(gy[::4, ::4]) for gx, gy in zip(gxs, gys)], axis=0)
    hi = float(np.clip(0.4 * np.percentile(sub, 90), 30.0, 100.0))
    edges = cv2.Canny(dx, dy, 0.4 * hi, hi)  # multichannel: the channel with the largest gradient
    # Edge direction from the colour structure tensor (Di Zenzo), smoothed over a few pixels: on a
    # faint edge the channels' gradients are weak, noisy and may point opposite ways, but their
    # squared sum still has one clear direction.
    (gx0, gx1, gx2), (gy0, gy1, gy2) = gxs, gys
    jxx = cv2.GaussianBlur(gx0 * gx0 + gx1 * gx1 + gx2 * gx2, (5, 5), 1.2)
    jyy = cv2.GaussianBlur(gy0 * gy0 + gy1 * gy1 + gy2 * gy2, (5, 5), 1.2)
    jxy = cv2.GaussianBlur(gx0 * gy0 + gx1 * gy1 + gx2 * gy2, (5, 5), 1.2)
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
    return EdgeField(closed, horizontal, vertical, by_normal, near_normal)


def hough_lines(edges: np.ndarray, theta_ranges: list[tuple[float, float]], max_lines: int) -> np.ndarray:
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
    if not kept:
        return np.zeros((0, 4))
    arr = np.array(kept, dtype=np.float64)
    return np.stack([np.cos(arr[:, 1]), np.sin(arr[:, 1]), arr[:, 0], arr[:, 2]], axis=1)


def line_quads(
    field: EdgeField, min_area_frac: float, min_aspect: float, max_aspect: float, per_family: int
) -> np.ndarray:
    """Quadrilaterals (N, 4, 2), TL TR BR BL, made of two roughly horizontal and two roughly vertical
    lines, pre-filtered on geometry (inside the image, size, aspect)."""
    h, w = field.edges.shape[:2]
    k, d = per_family, LINE_FAMILY_DEG
    hs = hough_lines(field.horizontal, [(90.0 - d, 90.0 + d)], k)
    vs = hough_lines(field.vertical, [(0.0, d), (180.0 - d, 180.0)], k)
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
    keep = (area >= min_area_frac * w * h) & (ratio >= min_aspect) & (ratio <= max_aspect)
    return quads[keep]


def side_geometry(quads: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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


def coarse_support(quads: np.ndarray, field: EdgeField, n: int = 16) -> np.ndarray:
    """(N, 4) fraction of ``n`` points along each side (ends left out) that lie within
    :data:`SUPPORT_TOLERANCE_PX` of an edge pixel running the side's way: a cheap first check of many
    candidates (one look-up per point, in the dilated maps)."""
    a, d, _, bins = side_geometry(quads)
    t = np.linspace(SUPPORT_END_FRAC, 1.0 - SUPPORT_END_FRAC, n)
    base = a[:, :, None, :] + d[:, :, None, :] * t[None, None, :, None]
    return _lookup(field.near_normal, bins[:, :, None], base).mean(axis=2)


def _near_edges(quads: np.ndarray, field: EdgeField, t0: float, t1: float, n: int, tol: int) -> np.ndarray:
    """(N, 4, n) whether an edge pixel running along each side lies within ``tol`` px of ``n`` points
    from ``t0`` to ``t1`` along it (0: the side's first corner)."""
    a, d, nrm, bins = side_geometry(quads)
    t = np.linspace(t0, t1, n)
    base = a[:, :, None, :] + d[:, :, None, :] * t[None, None, :, None]
    hit = np.zeros(base.shape[:3], bool)
    for o in range(-tol, tol + 1):
        hit |= _lookup(field.by_normal, bins[:, :, None], base + o * nrm[:, :, None, :])
    return hit


def support(quads: np.ndarray, field: EdgeField) -> tuple[np.ndarray, np.ndarray]:
    """Edge support of refined candidates: (N, 4) per side, ends left out, and (N, 4) per corner.

    A corner's support is the mean support of its two sides just past the rounding of a card's corner
    (:data:`CORNER_WINDOW`): a real corner has both sides there, while a false corner made by a side
    line running on past the document's end, or by a background line, lacks one."""
    if len(quads) == 0:
        return np.zeros((0, 4)), np.zeros((0, 4))
    sides = _near_edges(quads, field, SUPPORT_END_FRAC, 1.0 - SUPPORT_END_FRAC, 40, 1).mean(axis=2)
    c0, c1 = CORNER_WINDOW
    starts = _near_edges(quads, field, c0, c1, 8, 1).mean(axis=2)  # side i near corner i
    ends = _near_edges(quads, field, 1.0 - c1, 1.0 - c0, 8, 1).mean(axis=2)  # side i near corner i+1
    corners = (starts + np.roll(ends, 1, axis=1)) / 2.0  # corner i: start of side i, end of side i-1
    return sides, corners


def refine(quads: np.ndarray, field: EdgeField, search_px: int = REFINE_SEARCH_PX) -> np.ndarray:
    """Each side moved onto the edge pixels running along it (the nearest within ``search_px``), by a
    robust straight-line fit of their offsets; corners recomputed as the sides' intersections. Brings
    a Hough line to sub-pixel accuracy and an outline simplified around rounded corners onto the
    card's real sides. A side with too few edge pixels along it stays where it was."""
    if len(quads) == 0:
        return quads
    n = 48
    a, d, nrm, bins = side_geometry(quads)
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
