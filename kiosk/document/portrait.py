"""Choose the document's portrait among the faces found, judge it, crop it, or refuse with a reason.

Many ID cards and passports print a second, smaller "ghost" copy of the holder's portrait as a
security feature (often pale or grey). It is the same person, so a face clearly smaller than the
main portrait (area ratio below ``ghost_max_area_ratio``) is counted and ignored; a second face of
similar size is a second person (two cards in one picture, a photo of a photo) and is refused.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from kiosk.config.document import PortraitRules
from kiosk.document.types import Portrait
from kiosk.errors import InputError
from kiosk.perception.types import FaceObservation

log = logging.getLogger(__name__)


def eye_line_angle_deg(face: FaceObservation) -> float:
    """Angle of the line from the image-left eye to the image-right eye, degrees, y down.

    About 0 for an upright face, +90 when the face is turned 90 degrees clockwise in the image,
    +-180 when upside down.
    """
    p = face.five_points
    right_eye = (p[0] + p[1]) / 2.0  # image-right eye (dlib order)
    left_eye = (p[2] + p[3]) / 2.0
    d = right_eye - left_eye
    return math.degrees(math.atan2(float(d[1]), float(d[0])))


def upright_quarter_turns(face: FaceObservation) -> int:
    """How many 90-degree counter-clockwise turns of the image make ``face`` upright (0..3)."""
    return round(eye_line_angle_deg(face) / 90.0) % 4


def exposure_of(rgb: np.ndarray, box: tuple[float, float, float, float]) -> tuple[float, float]:
    """(mean level 0..1, clipped fraction 0..1) of the grey face region; clipped = <= 5 or >= 250."""
    import cv2

    h, w = rgb.shape[:2]
    x, y, bw, bh = box
    x0, y0 = max(0, int(x)), max(0, int(y))
    x1, y1 = min(w, math.ceil(x + bw)), min(h, math.ceil(y + bh))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return 0.0, 1.0
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    clipped = float(np.mean((grey <= 5) | (grey >= 250)))
    return float(grey.mean()) / 255.0, clipped


def crop_with_margin(
    rgb: np.ndarray, box: tuple[float, float, float, float], margin_frac: float
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The face box grown by ``margin_frac`` of its size on every side (more above, for the hair),
    clamped to the image. Returns (crop, (x, y, w, h))."""
    h, w = rgb.shape[:2]
    x, y, bw, bh = box
    mx, my = bw * margin_frac, bh * margin_frac
    x0 = max(0, math.floor(x - mx))
    y0 = max(0, math.floor(y - my * 1.3))
    x1 = min(w, math.ceil(x + bw + mx))
    y1 = min(h, math.ceil(y + bh + my * 0.9))
    return np.ascontiguousarray(rgb[y0:y1, x0:x1]).copy(), (x0, y0, x1 - x0, y1 - y0)


def split_ghosts(
    faces: list[FaceObservation], ghost_max_area_ratio: float
) -> tuple[FaceObservation, int, int]:
    """(main portrait, ghost count, count of other faces of similar size) from faces largest first."""
    main = faces[0]
    ghosts = others = 0
    for f in faces[1:]:
        if f.area < ghost_max_area_ratio * main.area:
            ghosts += 1
        else:
            others += 1
    return main, ghosts, others


def select_portrait(image: np.ndarray, faces: list[FaceObservation], rules: PortraitRules) -> Portrait:
    """The portrait among ``faces`` (largest first, in ``image`` pixels), or :class:`InputError`.

    Codes: ``no_face``, ``several_faces``, ``face_too_small`` (shorter side of the face box below
    ``rules.min_face_px``), ``face_too_blurred`` (Laplacian variance below ``rules.min_sharpness``).
    """
    from kiosk.perception.quality import face_quality

    if not faces:
        raise InputError(
            "no face was found on the document; show the side or page with the photo", code="no_face"
        )
    main, ghosts, others = split_ghosts(faces, rules.ghost_max_area_ratio)
    if others:
        raise InputError(
            f"{others + 1} faces of similar size were found; show one document of one person at a time",
            code="several_faces",
        )
    quality = main.quality or face_quality(image, main.box)
    if quality.face_px < rules.min_face_px:
        raise InputError(
            f"the portrait is too small ({quality.face_px:.0f} px, at least {rules.min_face_px} px needed); "
            "use a sharper, closer photo or scan of the document",
            code="face_too_small",
        )
    if quality.sharpness < rules.min_sharpness:
        raise InputError(
            f"the portrait is too blurred (sharpness {quality.sharpness:.0f}, "
            f"at least {rules.min_sharpness:.0f}); "
            "hold the document still and in focus",
            code="face_too_blurred",
        )
    exposure, _clipped = exposure_of(image, main.box)
    crop, crop_box = crop_with_margin(image, main.box, rules.margin_frac)
    return Portrait(
        box=tuple(float(v) for v in main.box),  # type: ignore[arg-type]
        crop=crop,
        crop_box=crop_box,
        quality=quality,
        exposure=exposure,
        face=main,
        ghosts=ghosts,
    )
