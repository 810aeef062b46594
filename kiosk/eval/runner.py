"""Run the face pipeline over every image of a pairs file once, then score any number of systems.

Each image is detected, aligned and chipped once; each embedder then embeds all chips (kept in
memory), so fp32, fp16, int8 and dlib's own pipeline are compared on the very same images in one
run. When a picture holds several faces, the one nearest the image centre is used (LFW labels the
centred person). An image where no face is found is a failure to enrol (FTE): it is counted and
listed, and every pair it is part of gets distance ``+inf`` (a genuine pair with an FTE image is a
false non-match; impostor pairs with an FTE image are left out of the impostor distribution,
since they can never produce a false match and would only inflate its denominator).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.errors import InputError
from kiosk.eval import metrics
from kiosk.eval.pairs import ImageRef, PairsFile
from kiosk.eval.progress import Progress
from kiosk.perception import align
from kiosk.perception.match import pairwise_distances

log = logging.getLogger(__name__)

FMR_POINTS: tuple[float, ...] = (1e-2, 1e-3, 1e-4)
EMBED_BATCH = 32
#: Image-size limits for evaluation images (same as the kiosk's upload defaults).
MAX_BYTES = 25_000_000
MAX_PIXELS = 60_000_000


def fmr_label(fmr: float) -> str:
    """``1e-3`` -> ``"1e-3"`` (the suffix of the JSON keys)."""
    from kiosk.perception.match import fmr_key

    return fmr_key(fmr).removeprefix("fmr_")


@dataclass
class ChipSet:
    """One chip per image (zeros where the image failed to enrol) and why each failure happened."""

    refs: list[ImageRef]
    chips: np.ndarray
    enrolled: np.ndarray
    reasons: dict[int, str] = field(default_factory=dict)

    @property
    def fte(self) -> int:
        return int((~self.enrolled).sum())


def central_index(boxes: Sequence[tuple[float, float, float, float]], width: int, height: int) -> int:
    """Index of the box whose centre is nearest the image centre."""
    d = [np.hypot(x + w / 2 - width / 2, y + h / 2 - height / 2) for x, y, w, h in boxes]
    return int(np.argmin(d))


def _load(path: Path) -> np.ndarray:
    from kiosk.imageio import load_image

    return load_image(path, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)


def extract_chips(
    refs: Sequence[ImageRef],
    images_dir: Path,
    *,
    points: str = "mapped",
    min_face_px: int = 60,
    progress: bool | None = None,
) -> ChipSet:
    """Chips of the central face of every image. ``points``: ``mapped`` (the kiosk's alignment),
    ``raw`` (unmapped mesh vertices) or ``dlib`` (dlib's HOG + 5-point predictor; dev only)."""
    from kiosk.perception.chip import face_chip

    n = len(refs)
    chips = np.zeros((n, align.CHIP_SIZE_PX, align.CHIP_SIZE_PX, 3), dtype=np.uint8)
    enrolled = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}
    detector: Any = None
    ref: Any = None
    if points == "dlib":
        from kiosk.perception.dlib_ref import DlibReference

        ref = DlibReference()
    else:
        from kiosk.perception.detect import DetectorOptions, StillFaceDetector

        detector = StillFaceDetector(DetectorOptions(min_face_px=min_face_px))
    try:
        with Progress(n, f"faces ({points} points)", enabled=progress) as bar:
            for i, r in enumerate(refs):
                bar.advance()
                try:
                    rgb = _load(r.path(images_dir))
                except InputError as exc:
                    reasons[i] = f"{exc.code}: {exc.message}"
                    continue
                h, w = rgb.shape[:2]
                if ref is not None:
                    found = ref.faces(rgb, 1)
                    if not found:
                        reasons[i] = "no_face"
                        continue
                    boxes = [
                        (p[:, 0].min(), p[:, 1].min(), np.ptp(p[:, 0]), np.ptp(p[:, 1])) for _, p in found
                    ]
                    p5 = found[central_index(boxes, w, h)][1]
                else:
                    faces = detector.detect(rgb)
                    if not faces:
                        reasons[i] = "no_face"
                        continue
                    face = faces[central_index([f.box for f in faces], w, h)]
                    lm = face.landmarks
                    p5 = align.raw_five_points(lm) if points == "raw" else align.dlib_five_points(lm)
                chips[i] = face_chip(rgb, p5, align.CHIP_SIZE_PX, align.CHIP_PADDING)
                enrolled[i] = True
    finally:
        if detector is not None:
            detector.close()
    return ChipSet(list(refs), chips, enrolled, reasons)


def embed_chips(
    cs: ChipSet, embed: Callable[[np.ndarray], np.ndarray], label: str, progress: bool | None = None
) -> np.ndarray:
    """(N, 128) float32 embeddings of the enrolled chips; NaN rows for FTE images."""
    out = np.full((len(cs.refs), 128), np.nan, dtype=np.float32)
    idx = np.flatnonzero(cs.enrolled)
    with Progress(len(idx), f"embed {label}", enabled=progress) as bar:
        for s in range(0, len(idx), EMBED_BATCH):
            part = idx[s : s + EMBED_BATCH]
            out[part] = np.asarray(embed(cs.chips[part]), dtype=np.float32)
            bar.advance(len(part))
    return out


def dlib_pipeline(
    refs: Sequence[ImageRef], images_dir: Path, progress: bool | None = None
) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """dlib's own pipeline (HOG with 1 upsample, 5-point predictor, its chip, its ResNet), dev only.

    Returns (embeddings with NaN rows for FTE, enrolled mask, FTE reasons)."""
    from kiosk.perception.dlib_ref import DlibReference

    ref = DlibReference()
    n = len(refs)
    emb = np.full((n, 128), np.nan, dtype=np.float32)
    enrolled = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}
    with Progress(n, "dlib pipeline", enabled=progress) as bar:
        for i, r in enumerate(refs):
            bar.advance()
            try:
                rgb = _load(r.path(images_dir))
            except InputError as exc:
                reasons[i] = f"{exc.code}: {exc.message}"
                continue
            h, w = rgb.shape[:2]
            found = ref.faces(rgb, 1)
            if not found:
                reasons[i] = "no_face"
                continue
            boxes = [(p[:, 0].min(), p[:, 1].min(), np.ptp(p[:, 0]), np.ptp(p[:, 1])) for _, p in found]
            shape, _ = found[central_index(boxes, w, h)]
            emb[i] = ref.descriptors([ref.chip(rgb, shape)])[0]
            enrolled[i] = True
    return emb, enrolled, reasons


@dataclass(frozen=True)
class Distances:
    """Image distance matrix of one system with the labels needed to score it."""

    dist: np.ndarray  # (N, N), +inf on FTE rows/columns
    ids: np.ndarray  # (N,) identity index
    enrolled: np.ndarray  # (N,)


def distances(refs: Sequence[ImageRef], emb: np.ndarray, enrolled: np.ndarray) -> Distances:
    names = sorted({r.name for r in refs})
    index = {n: i for i, n in enumerate(names)}
    ids = np.array([index[r.name] for r in refs], dtype=np.int64)
    safe = np.where(enrolled[:, None], emb, 0.0)
    d = pairwise_distances(safe)
    d[~enrolled, :] = np.inf
    d[:, ~enrolled] = np.inf
    return Distances(d, ids, enrolled.copy())


def all_pair_scores(dd: Distances) -> tuple[np.ndarray, np.ndarray]:
    """(genuine, impostor) over ALL image pairs: genuine = same identity (FTE -> inf), impostor =
    different identities, both enrolled."""
    iu, ju = np.triu_indices(len(dd.ids), k=1)
    same = dd.ids[iu] == dd.ids[ju]
    genuine = dd.dist[iu[same], ju[same]]
    imp_mask = ~same & dd.enrolled[iu] & dd.enrolled[ju]
    return genuine, dd.dist[iu[imp_mask], ju[imp_mask]]


def score_system(
    pairs: PairsFile,
    refs: Sequence[ImageRef],
    emb: np.ndarray,
    enrolled: np.ndarray,
    reasons: dict[int, str],
    fmrs: Sequence[float] = FMR_POINTS,
    common: np.ndarray | None = None,
) -> dict[str, Any]:
    """Accuracy (10-fold CV on the listed pairs), AUC and TAR@FMR (all pairs), FTE.

    ``common``: (N,) images every compared system enrolled; adds ``accuracy_common_pairs``, the CV
    accuracy over the listed pairs whose two images are in it (FTE differences taken out).
    """
    dd = distances(refs, emb, enrolled)
    pos = {r: i for i, r in enumerate(refs)}
    ia = np.array([pos[p.a] for p in pairs.pairs])
    ib = np.array([pos[p.b] for p in pairs.pairs])
    listed = dd.dist[ia, ib]
    same = np.array([p.same for p in pairs.pairs])
    folds = np.array([p.fold for p in pairs.pairs])
    cv = metrics.cv_accuracy(listed, same, folds)
    genuine, impostor = all_pair_scores(dd)
    out: dict[str, Any] = {
        "accuracy": round(cv.mean, 5),
        "accuracy_std": round(cv.std, 5),
        "accuracy_threshold_mean": round(cv.threshold_mean, 4),
        "auc": round(metrics.roc_auc(genuine, impostor), 6),
    }
    for f in fmrs:
        op = metrics.tar_at_fmr(genuine, impostor, f)
        key = fmr_label(f)
        out[f"tar_at_fmr_{key}"] = round(op.tar, 5) if op.resolvable else None
        out[f"threshold_at_fmr_{key}"] = round(op.threshold, 4) if op.resolvable else None
    if common is not None:
        keep = common[ia] & common[ib]
        cvc = metrics.cv_accuracy(listed[keep], same[keep], folds[keep])
        out["accuracy_common_pairs"] = round(cvc.mean, 5)
        out["n_common_pairs"] = int(keep.sum())
    out["fte"] = int((~enrolled).sum())
    fte_pairs = int((~(enrolled[ia] & enrolled[ib])).sum())
    out.update(
        {
            "fte_images": [refs[i].relpath for i in sorted(reasons)],
            "fte_listed_pairs": fte_pairs,
            "n_images": len(refs),
            "n_listed_pairs": len(pairs.pairs),
            "n_genuine": len(genuine),
            "n_impostor": len(impostor),
            "listed_accuracy_at_dlib_0.6": round(float(np.mean((listed <= 0.6) == same)), 5),
        }
    )
    return out
