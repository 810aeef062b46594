"""The still-image face pipeline: detect -> align -> chip -> embed -> score.

Used by ``ekyc-kiosk verify``, ``eval-pairs``, ``calibrate``, the kiosk's match step and the
benchmarks, so every caller measures and decides with exactly the same steps:

1. detect: :class:`~kiosk.perception.detect.StillFaceDetector` (MediaPipe FaceLandmarker, IMAGE
   mode, with a tile search for small faces); an ID image goes through the document pipeline
   (outline, upright turn, ghost portraits, portrait rules);
2. align: dlib's five points estimated from the 478 mesh landmarks
   (:func:`kiosk.perception.align.dlib_five_points`);
3. chip: the 150 px chip exactly as dlib cuts it (:func:`kiosk.perception.chip.face_chip`);
4. embed: the TFLite face embedder (128-d, dlib's scale);
5. score: Euclidean distance, decision against the resolved threshold (:mod:`kiosk.perception.match`).

Unusable input raises :class:`~kiosk.errors.InputError` with a code: ``no_face``,
``several_faces``, ``face_too_small``, ``face_too_blurred`` (plus the image loader's codes).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from kiosk.errors import InputError
from kiosk.perception import align
from kiosk.perception.match import compare_faces, face_distance, similarity
from kiosk.perception.types import FaceObservation

log = logging.getLogger(__name__)

EMBEDDING_DIM = 128


class Embedder(Protocol):
    """Anything that turns (N, 150, 150, 3) uint8 RGB chips into (N, 128) float32 embeddings."""

    def embed(self, chips: np.ndarray) -> np.ndarray: ...


class PointsMode(enum.Enum):
    """Which five points the chip is cut from: the fitted map (default) or the raw mesh vertices."""

    MAPPED = "mapped"
    RAW = "raw"


def five_points(face: FaceObservation, mode: PointsMode = PointsMode.MAPPED) -> np.ndarray:
    """dlib-order five points (image pixels) for ``face``."""
    if mode is PointsMode.RAW:
        return align.raw_five_points(face.landmarks)
    return align.dlib_five_points(face.landmarks)


def face_chips(
    rgb: np.ndarray, faces: Sequence[FaceObservation], mode: PointsMode = PointsMode.MAPPED
) -> np.ndarray:
    """(N, 150, 150, 3) uint8 chips of ``faces`` in ``rgb``, cut as dlib would from our five points."""
    from kiosk.perception.chip import face_chip

    chips = np.zeros((len(faces), align.CHIP_SIZE_PX, align.CHIP_SIZE_PX, 3), dtype=np.uint8)
    for i, f in enumerate(faces):
        chips[i] = face_chip(rgb, five_points(f, mode), align.CHIP_SIZE_PX, align.CHIP_PADDING)
    return chips


def load_embedder(variant: str, num_threads: int = 2) -> Embedder:
    """The kiosk's TFLite face embedder (``int8``, ``fp16`` or ``fp32``), integrity-checked."""
    from kiosk.perception.embedder import FaceEmbedder

    return FaceEmbedder(variant=variant, num_threads=num_threads)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Enrolled:
    """One face ready to compare: where it was, how good it looked, and its embedding.

    ``role``: ``"document"`` (ID portrait), ``"selfie"`` (still image) or ``"live"`` (camera).
    ``box`` is in the pixels of the image the face was found in (for a document: the input image
    when the portrait could be mapped back, else the rectified document).
    """

    role: str
    box: tuple[float, float, float, float]
    quality: dict[str, float]
    embedding: np.ndarray = field(repr=False)
    ghost_portraits: int = 0

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "role": self.role,
            "box": [round(float(v), 1) for v in self.box],
            "quality": self.quality,
        }
        if self.role == "document":
            d["ghost_portraits"] = self.ghost_portraits
        return d


@dataclass(frozen=True)
class MatchDecision:
    """``distance``: Euclidean, dlib descriptor units; ``match``: ``distance <= threshold``;
    ``similarity``: 0..1 for display only."""

    match: bool
    distance: float
    threshold: float
    fmr_target: float
    threshold_source: str
    similarity: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "match": self.match,
            "score": round(self.distance, 4),
            "score_kind": "euclidean_distance",
            "similarity": round(self.similarity, 3),
            "threshold": round(self.threshold, 4),
            "threshold_source": self.threshold_source,
            "fmr_target": self.fmr_target,
        }


class FaceVerifier:
    """Detector + embedder + thresholds from one config.

    ``config``: a :class:`kiosk.config.schema.KioskConfig` (defaults when None). ``variant``
    overrides ``face.match.model``. ``embedder`` / ``detector`` may be injected (benchmarks,
    evaluation with a reference embedder); otherwise they are built on first use. Call
    :meth:`close` (or use ``with``) to release MediaPipe.
    """

    def __init__(
        self,
        config: Any = None,
        *,
        variant: str | None = None,
        embedder: Embedder | None = None,
        detector: Any = None,
        points: PointsMode = PointsMode.MAPPED,
    ) -> None:
        if config is None:
            from kiosk.config.schema import KioskConfig

            config = KioskConfig.model_validate({})
        self.cfg = config
        self.variant = variant or config.face.match.model
        self.points = points
        self._embedder = embedder
        self._detector = detector
        self._own_detector = detector is None
        self._doc_detector: Any = None
        self._thresholds: dict[bool, tuple[float, float, str]] = {}

    # --- parts -----------------------------------------------------------------------------

    @property
    def model_name(self) -> str:
        """Manifest name of the embedder in use (for decision records)."""
        return f"face_embedder_{self.variant}"

    @property
    def match_cfg(self) -> Any:
        m = self.cfg.face.match
        return m if m.model == self.variant else m.model_copy(update={"model": self.variant})

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.variant, self.cfg.face.match.num_threads)
        return self._embedder

    @property
    def detector(self) -> Any:
        if self._detector is None:
            from kiosk.perception.detect import DetectorOptions, StillFaceDetector

            # A second face smaller than other_face_area_ratio of the main one is ignored by
            # select_selfie_face, so the tile search stops a margin below that size.
            side_ratio = 0.8 * self.cfg.face.still.other_face_area_ratio**0.5
            self._detector = StillFaceDetector(DetectorOptions(relative_min_face=side_ratio))
        return self._detector

    def close(self) -> None:
        det, self._detector = self._detector, None
        if det is not None and self._own_detector:
            det.close()
        doc, self._doc_detector = self._doc_detector, None
        if doc is not None:
            doc.close()
        emb = self._embedder
        closer = getattr(emb, "close", None)
        if callable(closer):
            closer()

    def __enter__(self) -> FaceVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- embedding -------------------------------------------------------------------------

    def embed_faces(self, rgb: np.ndarray, faces: Sequence[FaceObservation]) -> np.ndarray:
        """(N, 128) float32 embeddings of ``faces`` (landmarks in ``rgb``'s pixels)."""
        if not faces:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        chips = face_chips(rgb, faces, self.points)
        emb = np.asarray(self.embedder.embed(chips), dtype=np.float32)
        if emb.shape != (len(faces), EMBEDDING_DIM) or not np.isfinite(emb).all():
            raise RuntimeError(f"embedder returned {emb.shape} (finite: {bool(np.isfinite(emb).all())})")
        return emb

    def embed_face(self, rgb: np.ndarray, face: FaceObservation) -> np.ndarray:
        """(128,) embedding of one face, e.g. a live camera frame's primary face."""
        return self.embed_faces(rgb, [face])[0]

    # --- enrolment -------------------------------------------------------------------------

    def enrol_document(self, rgb: np.ndarray) -> Enrolled:
        """The ID portrait of a document image (or any photo used as the ID image).

        Goes through the document pipeline: outline and rectification, upright turn, ghost
        portraits ignored, ``document.portrait`` size and sharpness rules.
        """
        from kiosk.document.pipeline import document_detector_options, process_document

        doc_cfg = self.cfg.document
        if self._doc_detector is None:
            from kiosk.perception.detect import StillFaceDetector

            # documents need their own search: small portraits, cards held sideways
            self._doc_detector = StillFaceDetector(document_detector_options(doc_cfg))
        result = process_document(rgb, self._doc_detector, doc_cfg)
        p = result.portrait
        emb = self.embed_face(result.document.image, p.face)
        box = p.input_box if p.input_box is not None else p.box
        return Enrolled("document", tuple(box), p.quality_dict(), emb, p.ghosts)  # type: ignore[arg-type]

    def select_selfie_face(self, faces: Sequence[FaceObservation]) -> FaceObservation:
        """The one usable face of a still selfie (faces largest first), or :class:`InputError`."""
        rules = self.cfg.face.still
        if not faces:
            raise InputError("no face was found in the selfie", code="no_face")
        main = faces[0]
        others = [f for f in faces[1:] if f.area >= rules.other_face_area_ratio * main.area]
        if others:
            raise InputError(
                f"{len(others) + 1} faces were found in the selfie; it must show one person only",
                code="several_faces",
            )
        q = main.quality
        if q is not None and q.face_px < rules.min_face_px:
            raise InputError(
                f"the face in the selfie is too small ({q.face_px:.0f} px, "
                f"at least {rules.min_face_px} px needed)",
                code="face_too_small",
            )
        if q is not None and q.sharpness < rules.min_sharpness:
            raise InputError(
                f"the face in the selfie is too blurred (sharpness {q.sharpness:.0f}, "
                f"at least {rules.min_sharpness:.0f})",
                code="face_too_blurred",
            )
        return main

    def enrol_selfie(self, rgb: np.ndarray) -> Enrolled:
        """The single face of a still selfie, checked against ``face.still`` rules."""
        face = self.select_selfie_face(self.detector.detect(rgb))
        emb = self.embed_face(rgb, face)
        q = face.quality.as_dict() if face.quality is not None else {}
        return Enrolled("selfie", tuple(float(v) for v in face.box), q, emb)  # type: ignore[arg-type]

    # --- decision --------------------------------------------------------------------------

    def threshold(self, *, document: bool) -> tuple[float, float, str]:
        """(threshold, fmr_target, source), resolved once; may raise :class:`~kiosk.errors.ConfigError`."""
        if document not in self._thresholds:
            from kiosk.perception.match import resolve_document_threshold, resolve_threshold

            fn = resolve_document_threshold if document else resolve_threshold
            self._thresholds[document] = fn(self.match_cfg)
        return self._thresholds[document]

    def decide(self, distance: float, *, document: bool) -> MatchDecision:
        thr, fmr, src = self.threshold(document=document)
        return MatchDecision(
            compare_faces(distance, thr), float(distance), thr, fmr, src, similarity(distance, thr)
        )

    def compare(self, a: Enrolled | np.ndarray, b: Enrolled | np.ndarray) -> MatchDecision:
        """Decision for two faces; the document threshold applies when either is an ID portrait."""
        document = any(isinstance(x, Enrolled) and x.role == "document" for x in (a, b))
        ea = a.embedding if isinstance(a, Enrolled) else a
        eb = b.embedding if isinstance(b, Enrolled) else b
        return self.decide(float(face_distance(ea, eb)), document=document)

    def compare_live(self, rgb: np.ndarray, face: FaceObservation, id_embedding: np.ndarray) -> MatchDecision:
        """Embed a live camera face and decide against the ID portrait's embedding."""
        return self.decide(float(face_distance(self.embed_face(rgb, face), id_embedding)), document=True)
