"""Face chips exactly as dlib cuts them: 5-point similarity alignment into a 150 px chip.

dlib's face-recognition ResNet was trained on chips made by ``get_face_chip_details`` +
``extract_image_chip`` (``dlib.get_face_chip(img, shape, size=150, padding=0.25)``), so the embedder
only keeps its accuracy when the chip matches those conventions. This module re-implements them
in numpy (no dlib at run time):

* the five template points (dlib's unit-square template, padded by ``padding`` on every side, times
  the chip size) are fitted to the image points with a least-squares similarity transform;
* the chip's source rectangle is ``centered_drect(centre, size*scale, size*scale)``, i.e. dlib's
  inclusive-pixel convention that takes one pixel off the width and the height;
* when that rectangle is much larger than the chip, the image is first halved with dlib's
  ``pyramid_down<2>`` (a 5x5 [1 4 6 4 1] Gaussian, integer arithmetic, truncating division) until
  bilinear sampling no longer skips pixels;
* each chip pixel is sampled bilinearly in float64 and *truncated* to uint8; samples whose 2x2
  neighbourhood leaves the image are black.

Coordinates are image pixels, x right, y down; pixel centres are at integer coordinates.
The five points are in dlib's 5-point order: image-right eye outer corner, image-right eye inner
corner, image-left eye outer corner, image-left eye inner corner, bottom of the nose
(see :data:`kiosk.perception.types.FIVE_POINT_MESH_IDX` for the MediaPipe equivalents).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from kiosk.errors import InputError

log = logging.getLogger(__name__)

#: Side of the square chip dlib's face-recognition network takes, in pixels.
CHIP_SIZE_PX = 150
#: Border around the landmark template, as a fraction of the template's size (dlib's example).
CHIP_PADDING = 0.25

#: dlib's 5-point template on the unit square, in dlib's 5-point order.
TEMPLATE_5PT_UNIT: np.ndarray = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ],
    dtype=np.float64,
)


def template_points(size: int = CHIP_SIZE_PX, padding: float = CHIP_PADDING) -> np.ndarray:
    """Where the five points land in the chip, (5, 2) float64 chip pixels.

    For the defaults: (110.96, 46.35), (89.61, 47.90), (37.06, 46.37), (58.41, 47.91), (74.01, 87.78).
    """
    return (padding + TEMPLATE_5PT_UNIT) / (2.0 * padding + 1.0) * float(size)


@dataclass(frozen=True)
class ChipDetails:
    """dlib's ``chip_details``: where the chip comes from in the image.

    ``rect``: (left, top, right, bottom) in image pixels, inclusive, float (dlib ``drectangle``),
    before rotation. ``angle``: rotation of the chip in the image, radians. ``rows``/``cols``: chip
    size in pixels.
    """

    rect: tuple[float, float, float, float]
    angle: float
    rows: int
    cols: int

    @property
    def size(self) -> int:
        return self.rows * self.cols


# --- dlib drectangle helpers (inclusive corners: width = right - left + 1) -------------------------

_Rect = tuple[float, float, float, float]


def _is_empty(r: _Rect) -> bool:
    return r[1] > r[3] or r[0] > r[2]


def _area(r: _Rect) -> float:
    if _is_empty(r):
        return 0.0
    return (r[2] - r[0] + 1.0) * (r[3] - r[1] + 1.0)


def _point_down(x: float, y: float) -> tuple[float, float]:
    # pyramid_down<2>::point_down: the filter's output pixel (0, 0) sits at (2.5, 1.5) of the input.
    return x / 2.0 - 1.25, y / 2.0 - 0.75


def _rect_down(r: _Rect) -> _Rect:
    x0, y0 = _point_down(r[0], r[1])
    x1, y1 = _point_down(r[2], r[3])
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _center(r: _Rect) -> tuple[float, float]:
    return (r[0] + r[2]) / 2.0, (r[1] + r[3]) / 2.0


def _rotate_point(cx: float, cy: float, x: float, y: float, angle: float) -> tuple[float, float]:
    s, c = math.sin(angle), math.cos(angle)
    dx, dy = x - cx, y - cy
    return c * dx - s * dy + cx, s * dx + c * dy + cy


def _round_half_up(v: float) -> int:
    # drectangle -> rectangle conversion: floor(v + 0.5)
    return math.floor(v + 0.5)


# --- alignment --------------------------------------------------------------------------------------


def _check_points(five_points: np.ndarray) -> np.ndarray:
    pts = np.asarray(five_points, dtype=np.float64)
    if pts.shape != (5, 2):
        raise InputError(f"face chip needs five (x, y) points in dlib's order, got shape {pts.shape}")
    if not np.all(np.isfinite(pts)):
        raise InputError("face chip points must be finite numbers")
    return pts


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares similarity (rotation, uniform scale, translation; no reflection) mapping ``src``
    onto ``dst`` (both (N, 2), N >= 2). Returns (M (2, 2), t (2,)) with dst ~ M @ src + t.

    Same optimum as dlib's ``find_similarity_transform`` (Umeyama's method).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - ms, dst - md
    denom = float(np.sum(s * s))
    if denom <= 0.0:
        raise InputError("face chip points are all the same point")
    # M = [[a, -b], [b, a]]: minimises sum |M s_i - d_i|^2 in closed form.
    a = float(np.sum(s[:, 0] * d[:, 0] + s[:, 1] * d[:, 1])) / denom
    b = float(np.sum(s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0])) / denom
    m = np.array([[a, -b], [b, a]], dtype=np.float64)
    t = md - m @ ms
    return m, t


def get_face_chip_details(
    five_points: np.ndarray, size: int = CHIP_SIZE_PX, padding: float = CHIP_PADDING
) -> ChipDetails:
    """dlib's ``get_face_chip_details`` for a 5-point shape (defaults: 150 px, padding 0.25)."""
    pts = _check_points(five_points)
    if size < 1 or padding < 0:
        raise InputError(f"bad chip geometry: size {size} px, padding {padding}")
    m, t = similarity_transform(template_points(size, padding), pts)
    p = m @ np.array([1.0, 0.0])
    angle = math.atan2(float(p[1]), float(p[0]))
    scale = math.hypot(float(p[0]), float(p[1]))
    if not scale > 0.0:
        raise InputError("face chip points give a zero-size face")
    cx, cy = m @ np.array([size / 2.0, size / 2.0]) + t
    # centered_drect: one pixel off width and height (inclusive corners)
    w = size * scale - 1.0
    h = size * scale - 1.0
    rect = (float(cx) - w / 2.0, float(cy) - h / 2.0, float(cx) + w / 2.0, float(cy) + h / 2.0)
    return ChipDetails(rect=rect, angle=angle, rows=size, cols=size)


# --- sampling ---------------------------------------------------------------------------------------


def pyramid_down2(img: np.ndarray) -> np.ndarray:
    """dlib's ``pyramid_down<2>`` on an RGB uint8 image: [1 4 6 4 1]^2 / 256 (truncated), every
    other pixel. Output is ((rows-3)//2, (cols-3)//2); images of 8 px or less give an empty image."""
    nr, nc = img.shape[:2]
    if nr <= 8 or nc <= 8:
        return np.zeros((0, 0, img.shape[2]), dtype=np.uint8)
    a = img.astype(np.uint32)
    ci = 2 * np.arange((nc - 3) // 2)
    t = a[:, ci] + 4 * a[:, ci + 1] + 6 * a[:, ci + 2] + 4 * a[:, ci + 3] + a[:, ci + 4]
    ri = 2 + 2 * np.arange((nr - 3) // 2)
    o = t[ri - 2] + 4 * t[ri - 1] + 6 * t[ri] + 4 * t[ri + 1] + t[ri + 2]
    return (o // 256).astype(np.uint8)


def _sample_bilinear(src: np.ndarray, m: np.ndarray, b: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """dlib's ``transform_image`` with ``interpolate_bilinear`` and a black background: chip pixel
    (c, r) reads ``src`` at ``m @ (c, r) + b``; float64 weights, truncation to uint8."""
    out = np.zeros((rows, cols, 3), dtype=np.uint8)
    nr, nc = src.shape[:2]
    if nr < 2 or nc < 2:
        return out
    c, r = np.meshgrid(np.arange(cols, dtype=np.float64), np.arange(rows, dtype=np.float64))
    x = (m[0, 0] * c + m[0, 1] * r) + b[0]
    y = (m[1, 0] * c + m[1, 1] * r) + b[1]
    left = np.floor(x)
    top = np.floor(y)
    valid = (left >= 0) & (top >= 0) & (left + 1 < nc) & (top + 1 < nr)
    if not np.any(valid):
        return out
    li = left[valid].astype(np.intp)
    ti = top[valid].astype(np.intp)
    lr = (x[valid] - left[valid])[:, None]
    tb = (y[valid] - top[valid])[:, None]
    s = src.astype(np.float64)
    tl, tr = s[ti, li], s[ti, li + 1]
    bl, br = s[ti + 1, li], s[ti + 1, li + 1]
    val = (1 - tb) * ((1 - lr) * tl + lr * tr) + tb * ((1 - lr) * bl + lr * br)
    # assign_pixel(unsigned char, double): clamp, then static_cast (truncation toward zero)
    out[valid] = np.clip(val, 0.0, 255.0).astype(np.uint8)
    return out


def _basic_extract(img: np.ndarray, rect: _Rect, rows: int, cols: int) -> np.ndarray:
    """dlib's ``basic_extract_image_chip``: a plain copy, black outside the image."""
    left, top = _round_half_up(rect[0]), _round_half_up(rect[1])
    out = np.zeros((rows, cols, 3), dtype=np.uint8)
    h, w = img.shape[:2]
    y0, y1 = max(top, 0), min(top + rows, h)
    x0, x1 = max(left, 0), min(left + cols, w)
    if y1 > y0 and x1 > x0:
        out[y0 - top : y1 - top, x0 - left : x1 - left] = img[y0:y1, x0:x1]
    return out


def extract_image_chip(rgb: np.ndarray, details: ChipDetails) -> np.ndarray:
    """dlib's ``extract_image_chip(img, details, chip)`` for RGB uint8 images; returns (rows, cols, 3)."""
    img = _check_image(rgb)
    rows, cols = details.rows, details.cols
    rect = details.rect
    size = float(details.size)
    if (
        details.angle == 0.0
        and float(rows) == rect[3] - rect[1] + 1.0
        and float(cols) == rect[2] - rect[0] + 1.0
    ):
        return _basic_extract(img, rect, rows, cols)

    # How many halvings keep bilinear sampling from skipping pixels, and how much of the image the
    # pyramid needs (the rotated rectangle grown by the filter's border at every level).
    depth = 0
    grow = 2.0
    r = _rect_down(rect)
    while _area(r) > size:
        r = _rect_down(r)
        depth += 1
        grow = grow * 2.0 + 2.0
    cx, cy = _center(rect)
    corners = [
        _rotate_point(cx, cy, px, py, details.angle)
        for px, py in ((rect[0], rect[1]), (rect[2], rect[1]), (rect[0], rect[3]), (rect[2], rect[3]))
    ]
    xs = [p[0] for p in corners]
    ys = [p[1] for p in corners]
    h, w = img.shape[:2]
    grown = (min(xs) - grow, min(ys) - grow, max(xs) + grow, max(ys) + grow)
    inter = (max(grown[0], 0.0), max(grown[1], 0.0), min(grown[2], w - 1.0), min(grown[3], h - 1.0))
    if _is_empty(inter):
        return np.zeros((rows, cols, 3), dtype=np.uint8)
    bl, bt = _round_half_up(inter[0]), _round_half_up(inter[1])
    br, bb = _round_half_up(inter[2]), _round_half_up(inter[3])
    if br < bl or bb < bt:
        return np.zeros((rows, cols, 3), dtype=np.uint8)
    src = img[bt : bb + 1, bl : br + 1]

    level = -1
    r = (rect[0] - bl, rect[1] - bt, rect[2] - bl, rect[3] - bt)
    while _area(_rect_down(r)) > size:
        level += 1
        r = _rect_down(r)
    for _ in range(level + 1):
        src = pyramid_down2(src)

    # Chip corners (0,0), (cols-1,0), (0,rows-1) go to the rotated rectangle's tl, tr, bl corners.
    rcx, rcy = _center(r)
    tl = _rotate_point(rcx, rcy, r[0], r[1], details.angle)
    tr = _rotate_point(rcx, rcy, r[2], r[1], details.angle)
    blc = _rotate_point(rcx, rcy, r[0], r[3], details.angle)
    m = np.array(
        [
            [(tr[0] - tl[0]) / max(cols - 1, 1), (blc[0] - tl[0]) / max(rows - 1, 1)],
            [(tr[1] - tl[1]) / max(cols - 1, 1), (blc[1] - tl[1]) / max(rows - 1, 1)],
        ],
        dtype=np.float64,
    )
    return _sample_bilinear(src, m, np.array(tl, dtype=np.float64), rows, cols)


def _check_image(rgb: np.ndarray) -> np.ndarray:
    img = np.asarray(rgb)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise InputError(
            f"face chip needs an RGB uint8 image (H, W, 3), got {img.dtype} array of shape {img.shape}"
        )
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise InputError("face chip needs a non-empty image")
    return img


def face_chip(
    rgb: np.ndarray, five_points: np.ndarray, size: int = CHIP_SIZE_PX, padding: float = CHIP_PADDING
) -> np.ndarray:
    """The aligned face chip, (size, size, 3) uint8 RGB, as ``dlib.get_face_chip(img, shape, size,
    padding)`` would cut it. ``five_points``: (5, 2) image pixels in dlib's 5-point order."""
    return extract_image_chip(rgb, get_face_chip_details(five_points, size, padding))
