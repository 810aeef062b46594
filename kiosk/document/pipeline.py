"""The document step for one still image: outline, rectification, upright turn, portrait.

Order of work, and why:

1. Find the document outline; if found (and ``still.rectify``), warp it to its canonical aspect.
2. Detect faces on that image. If the rectified image shows none, the outline was probably wrong
   (a photo frame or a printed box rather than the card edge): fall back to the image as it is.
3. If the main face lies sideways or upside down (a card scanned or photographed rotated), turn the
   document by quarter-turns until it is upright and detect again, so the face matcher gets an
   upright portrait and clean landmarks.
4. Pick the portrait, ignore smaller ghost portraits, refuse with a reason otherwise.
5. When the document was cut out of a larger photo, the rest of the photo is checked too: a second
   document or a person next to the card is refused as ``several_faces`` rather than silently
   cropped away (the kiosk cannot know which one is the applicant's).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from kiosk.config.document import DocumentConfig
from kiosk.document.orientation import haar_quarter_turns
from kiosk.document.portrait import select_portrait, upright_quarter_turns
from kiosk.document.quad import QuadOptions, find_document_quad
from kiosk.document.rectify import as_is, rectify, to_input_box, turn
from kiosk.document.types import DocumentResult, Portrait, Rectified
from kiosk.perception.detect import DetectorOptions, StillFaceDetector
from kiosk.perception.types import FaceObservation

log = logging.getLogger(__name__)


def document_detector_options(config: DocumentConfig) -> DetectorOptions:
    """Detector options suited to documents: small faces, sideways cards."""
    return DetectorOptions(min_face_px=config.still.min_face_search_px, rotations=True)


def prepare_document(rgb: np.ndarray, config: DocumentConfig) -> Rectified:
    """Rectified document when its outline is found (and rectification is on), else the input as is."""
    if not config.still.rectify:
        return as_is(rgb)
    quad = find_document_quad(rgb, QuadOptions(min_area_frac=config.still.min_area_frac))
    if quad is None:
        return as_is(rgb)
    return rectify(rgb, quad, px_per_mm=config.still.px_per_mm)


def _faces_upright(doc: Rectified, detector: StillFaceDetector) -> tuple[Rectified, list[FaceObservation]]:
    faces = detector.detect(doc.image)
    if faces:
        # The mesh's eye line says which way is up, except for upside-down faces, on which MediaPipe
        # fits an upright mesh: the Haar cascade's vote settles it when it is clear.
        k_haar = haar_quarter_turns(doc.image, faces[0].box)
        k = upright_quarter_turns(faces[0]) if k_haar is None else k_haar
        if k:
            turned = turn(doc, k)
            again = detector.detect(turned.image)
            if again:
                log.info("document turned %d degrees so the portrait is upright", 90 * k)
                return turned, again
    return doc, faces


def process_document(rgb: np.ndarray, detector: StillFaceDetector, config: DocumentConfig) -> DocumentResult:
    """Portrait of the document in ``rgb`` (upright RGB uint8), or :class:`kiosk.errors.InputError`
    (``no_face``, ``several_faces``, ``face_too_small``, ``face_too_blurred``)."""
    t0 = time.perf_counter()
    doc = prepare_document(rgb, config)
    timings = {"outline_ms": (time.perf_counter() - t0) * 1000.0}
    return process_rectified(doc, detector, config, fallback=rgb, timings=timings, t0=t0)


def process_rectified(
    doc: Rectified,
    detector: StillFaceDetector,
    config: DocumentConfig,
    *,
    fallback: np.ndarray | None = None,
    timings: dict[str, float] | None = None,
    t0: float | None = None,
) -> DocumentResult:
    """Portrait of an already prepared document (e.g. an auto-capture's ``document``). When the
    rectified image shows no face and ``fallback`` (the unrectified image) is given, use that."""
    timings = dict(timings or {})
    t0 = time.perf_counter() if t0 is None else t0
    t1 = time.perf_counter()
    doc, faces = _faces_upright(doc, detector)
    if not faces and doc.rectified and fallback is not None:
        log.info("no face on the rectified document; using the image as it is")
        doc, faces = _faces_upright(as_is(fallback), detector)
    timings["faces_ms"] = (time.perf_counter() - t1) * 1000.0
    portrait = select_portrait(doc.image, faces, config.portrait)
    portrait = _with_input_box(portrait, doc)
    if doc.rectified and fallback is not None:
        _refuse_other_faces_outside(fallback, portrait, detector, config)
    timings["total_ms"] = (time.perf_counter() - t0) * 1000.0
    log.info(
        "document portrait: %.0f px, sharpness %.0f, rectified=%s, kind=%s, ghosts=%d (%.0f ms)",
        portrait.quality.face_px,
        portrait.quality.sharpness,
        doc.rectified,
        doc.kind.value,
        portrait.ghosts,
        timings["total_ms"],
    )
    return DocumentResult(portrait=portrait, document=doc, timings_ms=timings)


def _refuse_other_faces_outside(
    rgb: np.ndarray, portrait: Portrait, detector: StillFaceDetector, config: DocumentConfig
) -> None:
    """Refuse when the whole photo shows another face about as large as the portrait (in input pixels)."""
    from kiosk.errors import InputError
    from kiosk.perception.detect import box_iou

    assert portrait.input_box is not None
    faces = detector.detect(rgb)
    if len(faces) < 2:
        return
    px, py, pw, ph = portrait.input_box
    min_area = config.portrait.ghost_max_area_ratio * pw * ph  # the ghost-portrait rule, in input pixels
    others = [f for f in faces if box_iou(f.box, portrait.input_box) < 0.3 and f.area >= min_area]
    if others:
        raise InputError(
            f"{len(others) + 1} faces of similar size are in the picture; "
            "show one document of one person at a time",
            code="several_faces",
        )


def _with_input_box(p: Portrait, doc: Rectified) -> Portrait:
    from dataclasses import replace

    return replace(p, input_box=to_input_box(doc, p.box))
