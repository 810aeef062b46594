"""Perspective correction of a found document outline to the ICAO aspect (ID-1 or TD3)."""

from __future__ import annotations

import logging

import numpy as np

from kiosk.document.types import DocumentKind, Quad, Rectified

log = logging.getLogger(__name__)

#: Output resolution of a rectified document, pixels per millimetre (12 px/mm is about 300 dpi).
DEFAULT_PX_PER_MM = 12.0


#: A measured side ratio within this relative distance of a canonical aspect is taken as that kind.
ASPECT_TOLERANCE = 0.1


def classify_aspect(aspect: float, tolerance: float = ASPECT_TOLERANCE) -> DocumentKind:
    """ID-1 (1.585) or TD3 (1.42), whichever is nearer to a measured width/height ratio, or UNKNOWN
    when neither is within ``tolerance`` (relative): an open booklet, a visa sticker, a letter."""
    a = aspect if aspect >= 1.0 else 1.0 / aspect
    best = min((DocumentKind.ID1, DocumentKind.TD3), key=lambda k: abs(a - k.aspect))
    return best if abs(a - best.aspect) / best.aspect <= tolerance else DocumentKind.UNKNOWN


def projective_aspect(corners: np.ndarray, image_size: tuple[int, int]) -> float | None:
    """Width/height of the real rectangle behind a perspective quad (TL, TR, BR, BL), or None.

    Zhang & He, "Whiteboard scanning and image enhancement" (2007): with the principal point at the
    image centre and square pixels, the focal length and the rectangle's true aspect follow from
    the four corners. None when the view is almost fronto-parallel (the focal length is not
    observable; the side ratio is then accurate anyway) or the geometry is degenerate.
    """
    w, h = image_size
    u0, v0 = w / 2.0, h / 2.0
    tl, tr, br, bl = (np.array([p[0], p[1], 1.0]) for p in np.asarray(corners, dtype=np.float64))
    m1, m2, m3, m4 = tl, tr, bl, br
    den2 = float(np.dot(np.cross(m2, m4), m3))
    den3 = float(np.dot(np.cross(m3, m4), m2))
    if abs(den2) < 1e-9 or abs(den3) < 1e-9:
        return None
    k2 = float(np.dot(np.cross(m1, m4), m3)) / den2
    k3 = float(np.dot(np.cross(m1, m4), m2)) / den3
    n2 = k2 * m2 - m1
    n3 = k3 * m3 - m1
    if abs(n2[2]) < 1e-6 or abs(n3[2]) < 1e-6:
        return None  # vanishing points at infinity: fronto-parallel in that direction
    f2 = -(
        (n2[0] * n3[0] - (n2[0] * n3[2] + n2[2] * n3[0]) * u0 + n2[2] * n3[2] * u0 * u0)
        + (n2[1] * n3[1] - (n2[1] * n3[2] + n2[2] * n3[1]) * v0 + n2[2] * n3[2] * v0 * v0)
    ) / (n2[2] * n3[2])
    if not np.isfinite(f2) or f2 <= (0.2 * max(w, h)) ** 2:
        return None
    f = float(np.sqrt(f2))
    a_inv = np.linalg.inv(np.array([[f, 0, u0], [0, f, v0], [0, 0, 1.0]]))
    b = a_inv.T @ a_inv
    num, den = float(n2 @ b @ n2), float(n3 @ b @ n3)
    if num <= 0 or den <= 0:
        return None
    ratio = float(np.sqrt(num / den))
    return ratio if 0.2 < ratio < 5.0 else None


def as_is(rgb: np.ndarray) -> Rectified:
    """The input used unchanged (no outline found)."""
    return Rectified(image=rgb, rectified=False, kind=DocumentKind.UNKNOWN, quad=None, homography=np.eye(3))


def rectify(
    rgb: np.ndarray, quad: Quad, *, px_per_mm: float = DEFAULT_PX_PER_MM, max_upscale: float = 1.0
) -> Rectified:
    """Warp the document inside ``quad`` to a landscape canvas of its canonical size.

    The kind is chosen from the outline's measured side ratio; when it is neither ID-1 nor TD3 the
    measured ratio is kept (an open passport booklet is not squeezed into a card). The output
    resolution is ``px_per_mm``, lowered when that would magnify the source by more than
    ``max_upscale`` (default 1: inventing pixels does not help the face matcher, and it would let a
    too-small portrait pass the ``min_face_px`` rule). An outline seen in portrait orientation
    (card held sideways) is turned so the output is landscape; :func:`turn` fixes the quarter-turn
    afterwards once the portrait shows which way is up.
    """
    import cv2

    c = quad.corners.astype(np.float32)
    t, r, b, l = quad.side_lengths  # noqa: E741
    if (r + l) > (t + b):
        # Portrait-oriented outline: start from the bottom-left corner so the long side is on top.
        c = np.roll(c, 1, axis=0)
        t, r, b, l = l, t, r, b  # noqa: E741
    measured = projective_aspect(c, (rgb.shape[1], rgb.shape[0])) or (t + b) / max(1e-6, r + l)
    kind = classify_aspect(measured)
    # Unknown format: remove the perspective but keep the measured aspect (no stretching).
    w_mm, h_mm = kind.size_mm if kind is not DocumentKind.UNKNOWN else (100.0, 100.0 / measured)
    src_long = max(t, b)
    ppm = min(px_per_mm, max_upscale * src_long / w_mm)
    out_w, out_h = max(32, round(w_mm * ppm)), max(20, round(h_mm * ppm))
    dst = np.array([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]], dtype=np.float32)
    hmat = cv2.getPerspectiveTransform(c, dst)
    interp = cv2.INTER_AREA if ppm * w_mm < src_long else cv2.INTER_CUBIC
    img = cv2.warpPerspective(rgb, hmat, (out_w, out_h), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    return Rectified(image=img, rectified=True, kind=kind, quad=Quad(c, quad.score), homography=hmat)


def turn(doc: Rectified, quarter_turns_ccw: int) -> Rectified:
    """``doc`` turned by ``quarter_turns_ccw`` x 90 degrees counter-clockwise (homography kept in step)."""
    k = quarter_turns_ccw % 4
    if k == 0:
        return doc
    h, w = doc.image.shape[:2]
    img = np.ascontiguousarray(np.rot90(doc.image, k))
    # Pixel maps of np.rot90 (x right, y down):
    # k=1: (x, y) -> (y, w-1-x); k=2: (w-1-x, h-1-y); k=3: (h-1-y, x)
    if k == 1:
        m = np.array([[0, 1, 0], [-1, 0, w - 1], [0, 0, 1]], dtype=np.float64)
    elif k == 2:
        m = np.array([[-1, 0, w - 1], [0, -1, h - 1], [0, 0, 1]], dtype=np.float64)
    else:
        m = np.array([[0, -1, h - 1], [1, 0, 0], [0, 0, 1]], dtype=np.float64)
    return Rectified(
        image=img,
        rectified=doc.rectified,
        kind=doc.kind,
        quad=doc.quad,
        homography=m @ doc.homography,
        rotation_deg=(doc.rotation_deg + 90 * k) % 360,
    )


def to_input_box(doc: Rectified, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Axis-aligned bounding box in the input image of a box given in ``doc.image`` pixels."""
    import cv2

    x, y, w, h = box
    pts = np.array([[[x, y]], [[x + w, y]], [[x + w, y + h]], [[x, y + h]]], dtype=np.float64)
    inv = np.linalg.inv(doc.homography)
    src = cv2.perspectiveTransform(pts, inv).reshape(4, 2)
    x0, y0 = src.min(axis=0)
    x1, y1 = src.max(axis=0)
    return (float(x0), float(y0), float(x1 - x0), float(y1 - y0))
