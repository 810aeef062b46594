"""Five-point alignment into dlib's face-chip geometry, from MediaPipe FaceMesh landmarks.

dlib's ResNet face embedder was trained on 150x150 chips cut by ``get_face_chip_details(shape, 150,
0.25)``: the least-squares similarity transform (rotation, uniform scale, translation) that maps a
fixed 5-point template onto the 5 points of dlib's shape predictor (outer and inner corner of the
eye on the image's right, outer and inner corner of the eye on the image's left, below the nose).

MediaPipe's mesh has no vertex at exactly those anatomical points, and its eye-corner vertices sit
systematically off dlib's (about a pixel or two in chip space, more for the nose point). So the
five points are estimated from the mesh with a fixed linear map fitted on real faces
(:mod:`kiosk.perception.align_map`, refitted by ``scripts/fit_landmark_map.py``): each dlib point is
an affine combination of a few mesh vertices plus a constant offset, both expressed in a
face-normalised frame (the chip frame that the raw mesh corners define). Affine weights (summing
to 1) and a frame-relative offset make the map follow the face through any rotation, scale and shift.

All coordinates are image pixels (x right, y down) unless a name says ``chip``; chip coordinates
are pixels of the 150x150 chip.
"""

from __future__ import annotations

import logging

import numpy as np

from kiosk.perception.types import FIVE_POINT_MESH_IDX

log = logging.getLogger(__name__)

#: dlib's 5-point chip template on the unit square, in the shape predictor's part order
#: (dlib/image_transforms/interpolation.h, ``get_face_chip_details``).
DLIB_TEMPLATE_5 = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ],
    dtype=np.float64,
)

#: Chip side (pixels) and padding (fraction of the template square) of dlib's face embedder.
CHIP_SIZE_PX = 150
CHIP_PADDING = 0.25

#: Number of vertices a landmark array must have.
MESH_POINTS = 478


def chip_template(size_px: int = CHIP_SIZE_PX, padding: float = CHIP_PADDING) -> np.ndarray:
    """The 5 template points in chip pixels, as dlib places them: ``(t + pad) / (1 + 2 pad) * size``."""
    return (DLIB_TEMPLATE_5 + padding) / (1.0 + 2.0 * padding) * float(size_px)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (no reflection) mapping ``src`` onto ``dst``, as a 2x3 matrix.

    Same solution as dlib's ``find_similarity_transform`` (Umeyama's method): minimises the sum
    of squared distances between ``A @ src + t`` and ``dst``.
    """
    s = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    d = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    if s.shape != d.shape or len(s) < 2:
        raise ValueError("similarity_transform needs two equal-length lists of at least 2 points")
    ms, md = s.mean(axis=0), d.mean(axis=0)
    sc, dc = s - ms, d - md
    var = float((sc**2).sum()) / len(s)
    if var <= 0.0:
        raise ValueError("similarity_transform: source points coincide")
    cov = dc.T @ sc / len(s)
    u, sv, vt = np.linalg.svd(cov)
    fix = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        fix[1, 1] = -1.0
    rot = u @ fix @ vt
    scale = float(np.trace(np.diag(sv) @ fix)) / var
    a = scale * rot
    t = md - a @ ms
    return np.hstack([a, t[:, None]])


def apply_transform(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to (N, 2) points."""
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    return p @ m[:, :2].T + m[:, 2]


def invert_transform(m: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine matrix."""
    a_inv = np.linalg.inv(m[:, :2])
    return np.hstack([a_inv, (-a_inv @ m[:, 2])[:, None]])


def image_to_chip(
    points5: np.ndarray, size_px: int = CHIP_SIZE_PX, padding: float = CHIP_PADDING
) -> np.ndarray:
    """2x3 matrix taking image pixels to chip pixels for a face whose dlib-order 5 points are ``points5``.

    dlib fits template -> image; this is its exact inverse (not the image -> template fit).
    """
    chip_to_image = similarity_transform(chip_template(size_px, padding), points5)
    return invert_transform(chip_to_image)


def _check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 2 or lm.shape[0] < MESH_POINTS or lm.shape[1] < 2:
        raise ValueError(f"expected ({MESH_POINTS}, 2|3) FaceMesh landmarks, got shape {lm.shape}")
    if not np.isfinite(lm[:, :2]).all():
        raise ValueError("landmarks contain non-finite values")
    return lm[:, :2]


def raw_five_points(landmarks: np.ndarray) -> np.ndarray:
    """The five mesh vertices nearest dlib's points (``FIVE_POINT_MESH_IDX``), uncorrected, (5, 2)."""
    return _check_landmarks(landmarks)[list(FIVE_POINT_MESH_IDX)].copy()


def mesh_frame(landmarks: np.ndarray) -> np.ndarray:
    """2x3 matrix taking image pixels into the face-normalised frame used by the fitted map.

    The frame is the chip frame that the raw mesh corners define (raw five points -> template).
    """
    return similarity_transform(raw_five_points(landmarks), chip_template())


def dlib_five_points(landmarks: np.ndarray) -> np.ndarray:
    """Estimate dlib's 5 shape-predictor points (image pixels, dlib order) from 478 mesh landmarks.

    Uses the fitted map in :mod:`kiosk.perception.align_map`. Raises ``ValueError`` on a malformed
    landmark array.
    """
    from kiosk.perception.align_map import MESH_TO_DLIB5

    lm = _check_landmarks(landmarks)
    to_frame = mesh_frame(lm)
    frame_pts = apply_transform(to_frame, lm)
    out = np.empty((5, 2), dtype=np.float64)
    for k, (indices, weights, offset) in enumerate(MESH_TO_DLIB5):
        w = np.asarray(weights, dtype=np.float64)
        out[k] = w @ frame_pts[list(indices)] + np.asarray(offset, dtype=np.float64)
    return apply_transform(invert_transform(to_frame), out)


def chip_residual_px(pred5: np.ndarray, true5: np.ndarray) -> tuple[np.ndarray, float]:
    """How far ``pred5`` is from ``true5`` in chip pixels, and how far the chip itself moves.

    Returns (per-point distances in the chip that ``true5`` defines, (5,), and the RMS displacement
    of the chip's content over its whole pixel grid when the chip is cut from ``pred5`` instead).
    """
    to_chip = image_to_chip(true5)
    per_point = np.linalg.norm(apply_transform(to_chip, pred5) - apply_transform(to_chip, true5), axis=1)
    # A chip pixel q shows image point x = true^-1(q); the predicted chip shows x at pred(x).
    n = CHIP_SIZE_PX
    g = np.stack(np.meshgrid(np.arange(0, n, 5.0), np.arange(0, n, 5.0)), axis=-1).reshape(-1, 2)
    x = apply_transform(invert_transform(to_chip), g)
    moved = apply_transform(image_to_chip(pred5), x) - g
    rms = float(np.sqrt((moved**2).sum(axis=1).mean()))
    return per_point, rms
