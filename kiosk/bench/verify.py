"""A whole still ``verify`` (ID image against a selfie) against the same done with dlib, same files, same
process, interleaved.

Ours is what ``ekyc-kiosk verify`` runs, models loaded once beforehand: decode both files
(:func:`kiosk.imageio.load_image`), the ID image through the document pipeline
(:meth:`FaceVerifier.enrol_document`: outline, upright turn, portrait rules, MediaPipe IMAGE landmarks),
the selfie through :meth:`FaceVerifier.enrol_selfie`, align, chip, int8 embed, compare. dlib's: decode
(OpenCV), HOG detector without upsampling (it finds every face of these pairs), 5-point shape predictor,
``get_face_chip``, ResNet ``compute_face_descriptor``, Euclidean distance (0.6 threshold).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.bench.stats import Distribution, Spread, ratio

log = logging.getLogger(__name__)

#: dlib's usual same-person threshold on its descriptor distance (for the report only).
DLIB_THRESHOLD = 0.6


@dataclass(frozen=True)
class VerifyPair:
    name: str
    id_image: Path
    selfie: Path


@dataclass(frozen=True)
class PairResult:
    """Wall ms per whole verify (decode to decision), each side; distances as each pipeline scores them.
    ``ours_parts_ms``: median ms of our parts (``decode`` both files, ``document`` = ID image through the
    document pipeline incl. its embedding, ``selfie`` = detection + embedding, ``compare``)."""

    name: str
    id_image: str
    selfie: str
    ours_ms: Distribution
    ours_parts_ms: dict[str, float]
    ours_distance: float
    ours_match: bool
    dlib_ms: Distribution | None
    dlib_distance: float | None
    speedup_vs_dlib: Spread | None

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.as_dict() if hasattr(v, "as_dict") else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class VerifyBench:
    repeats: int
    model: str
    pairs: list[PairResult]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "repeats": self.repeats,
            "model": self.model,
            "pairs": [p.as_dict() for p in self.pairs],
            "notes": self.notes,
        }


def default_pairs(scratch: Path) -> tuple[list[VerifyPair], str | None]:
    """The pairs to time, and a note when the evaluation data is missing.

    With data: ``face_recognition_examples`` obama.jpg vs obama2.jpg (photo vs photo, same person) and the
    ICAO specimen passport ``id_documents/passporteye_tests/passport-td3.jpg`` vs obama2.jpg (a document
    against a photo; different people). Without: the astronaut actor's ID card vs the astronaut photo.
    """
    from kiosk.paths import data_dir

    d = data_dir()
    if d is not None:
        obama = d / "face_recognition_examples" / "identities" / "barack_obama"
        passport = d / "id_documents" / "passporteye_tests" / "passport-td3.jpg"
        return [
            VerifyPair("photo_vs_photo", obama / "obama.jpg", obama / "obama2.jpg"),
            VerifyPair("document_vs_photo", passport, obama / "obama2.jpg"),
        ], None
    import cv2
    from skimage import data as skdata

    from kiosk.bench.applicant import write_id_image

    card = write_id_image("actor:astronaut", scratch / "astronaut_card.png")
    photo = scratch / "astronaut.png"
    cv2.imwrite(str(photo), np.ascontiguousarray(skdata.astronaut()[:, :, 2::-1]))
    return [VerifyPair("card_vs_photo", card, photo)], "no evaluation data: astronaut card vs photo only"


class OursVerify:
    """Our still verify, models loaded once; call with a pair for (distance, match)."""

    def __init__(self) -> None:
        from kiosk.config import load_config
        from kiosk.verifier import FaceVerifier

        self.cfg = load_config(None)  # what `ekyc-kiosk verify` uses without --config
        self.verifier = FaceVerifier(self.cfg)
        _ = self.verifier.embedder
        self.verifier.threshold(document=True)

        self.parts: dict[str, list[float]] = {"decode": [], "document": [], "selfie": [], "compare": []}

    def __call__(self, pair: VerifyPair) -> tuple[float, bool]:
        from kiosk.imageio import load_image

        lim = self.cfg.document.upload
        v = self.verifier
        t0 = time.perf_counter()
        id_rgb = load_image(pair.id_image, max_bytes=lim.max_bytes, max_pixels=lim.max_pixels)
        selfie_rgb = load_image(pair.selfie, max_bytes=lim.max_bytes, max_pixels=lim.max_pixels)
        t1 = time.perf_counter()
        doc = v.enrol_document(id_rgb)
        t2 = time.perf_counter()
        selfie = v.enrol_selfie(selfie_rgb)
        t3 = time.perf_counter()
        dec = v.compare(doc, selfie)
        t4 = time.perf_counter()
        for k, a, b in (("decode", t0, t1), ("document", t1, t2), ("selfie", t2, t3), ("compare", t3, t4)):
            self.parts[k].append((b - a) * 1000.0)
        return dec.distance, dec.match

    def take_parts(self) -> dict[str, float]:
        """Median ms of each part since the last call, then forget them."""
        out = {k: round(float(np.median(v)), 1) for k, v in self.parts.items() if v}
        for v in self.parts.values():
            v.clear()
        return out

    def close(self) -> None:
        self.verifier.close()


class DlibVerify:
    """dlib's verify, models loaded once; call with a pair for the descriptor distance."""

    def __init__(self) -> None:
        from kiosk.perception.dlib_ref import DlibReference

        self.ref = DlibReference()
        _ = self.ref.net

    def _embed(self, path: Path) -> np.ndarray:
        from kiosk.errors import InputError
        from kiosk.perception.dlib_ref import load_rgb

        rgb = load_rgb(path)
        faces = self.ref.faces(rgb, 0)
        if not faces:
            raise InputError(f"dlib found no face in {path.name}", code="no_face")
        shape = max(faces, key=lambda f: f[0].rect.area())[0]
        chip = self.ref.chip(rgb, shape)
        return np.asarray(self.ref.net.compute_face_descriptor(chip), dtype=np.float32)

    def __call__(self, pair: VerifyPair) -> float:
        return float(np.linalg.norm(self._embed(pair.id_image) - self._embed(pair.selfie)))


def bench_verify(
    pairs: list[VerifyPair],
    *,
    repeats: int = 7,
    with_dlib: bool = True,
    progress: Callable[[str], None] | None = None,
) -> VerifyBench:
    """Time ``repeats`` whole verifies of each pair per pipeline, after one untimed warm-up each."""
    from kiosk.errors import KioskError, ModelError

    notes: list[str] = []
    ours = OursVerify()
    theirs: DlibVerify | None = None
    if with_dlib:
        try:
            theirs = DlibVerify()
        except ModelError as exc:
            notes.append(f"dlib baseline unavailable: {exc}")
    results: list[PairResult] = []
    try:
        for pair in pairs:
            if progress:
                progress(f"verify: {pair.name} x{repeats}")
            dist, match = ours(pair)  # warm-up (first MediaPipe graph run, page cache)
            ours.take_parts()
            d_dist: float | None = None
            if theirs is not None:
                try:
                    d_dist = theirs(pair)
                except KioskError as exc:
                    notes.append(f"dlib on {pair.name}: {exc.message}")
            o_ms: list[float] = []
            d_ms: list[float] = []
            for r in range(repeats):
                order = ("ours", "dlib") if r % 2 == 0 else ("dlib", "ours")
                for who in order:
                    t0 = time.perf_counter()
                    if who == "ours":
                        ours(pair)
                        o_ms.append((time.perf_counter() - t0) * 1000.0)
                    elif theirs is not None and d_dist is not None:
                        theirs(pair)
                        d_ms.append((time.perf_counter() - t0) * 1000.0)
            results.append(
                PairResult(
                    pair.name,
                    _short(pair.id_image),
                    _short(pair.selfie),
                    Distribution.of(o_ms, 1),
                    ours.take_parts(),
                    round(dist, 4),
                    bool(match),
                    Distribution.of(d_ms, 1) if d_ms else None,
                    round(d_dist, 4) if d_dist is not None else None,
                    _pair_ratios(o_ms, d_ms),
                )
            )
    finally:
        ours.close()
    return VerifyBench(repeats, ours.verifier.variant, results, notes)


def _pair_ratios(ours_ms: list[float], dlib_ms: list[float]) -> Spread | None:
    """dlib / ours for each interleaved repeat, summarised."""
    if not dlib_ms:
        return None
    return Spread.of([ratio(d, o) or 0.0 for o, d in zip(ours_ms, dlib_ms, strict=True)])


def _short(p: Path) -> str:
    """A data path relative to the data directory (or the file name), for the report."""
    from kiosk.paths import data_dir

    d = data_dir()
    if d is not None:
        try:
            return str(p.relative_to(d))
        except ValueError:
            pass
    return p.name
