"""Face-match metric and decision, kept apart, and where the decision threshold comes from.

Metric: :func:`face_distance` is the Euclidean distance between two 128-d face embeddings on dlib's
scale (the embedder reproduces dlib's ResNet, whose descriptors have unit-ish norm): 0 for the same
chip, about 0.3-0.5 for two photos of one person, above 0.6 for most pairs of different people.
The unit is "dlib descriptor distance" (dimensionless).

Decision: :func:`compare_faces` says "same person" when the distance is at or below the
threshold. dlib's documented threshold is 0.6 (:data:`DLIB_DEFAULT_THRESHOLD`); the kiosk uses a
threshold calibrated for a target false-match rate (``ekyc-kiosk calibrate``), resolved by
:func:`resolve_threshold` from the config (an explicit number wins) or the model manifest.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from kiosk.errors import ConfigError, ModelError

log = logging.getLogger(__name__)

#: dlib's own decision threshold for its face descriptor (Euclidean distance).
DLIB_DEFAULT_THRESHOLD = 0.6
#: Steepness of the display-only similarity curve around the threshold (distance units).
_SIMILARITY_SCALE = 0.05
#: The manifest table holding the embedder's thresholds.
MANIFEST_META_KEY = "face_embedder"


def face_distance(a: np.ndarray, b: np.ndarray) -> Any:
    """Euclidean distance between embeddings (dlib descriptor units, >= 0).

    ``a`` and ``b`` are (128,) or (N, 128) (broadcast against each other): two vectors give a
    Python float, otherwise an (N,) float64 array.
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"embedding sizes differ: {x.shape[-1]} vs {y.shape[-1]}")
    d = np.sqrt(np.sum((x - y) ** 2, axis=-1))
    return float(d) if np.ndim(d) == 0 else d


def pairwise_distances(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """All Euclidean distances between rows of ``a`` (N, D) and ``b`` (M, D; default ``a``), (N, M)."""
    x = np.asarray(a, dtype=np.float64)
    y = x if b is None else np.asarray(b, dtype=np.float64)
    sq = (x**2).sum(axis=1)[:, None] + (y**2).sum(axis=1)[None, :] - 2.0 * (x @ y.T)
    return np.sqrt(np.maximum(sq, 0.0))


def compare_faces(distance: float, threshold: float) -> bool:
    """The decision: same person when ``distance <= threshold`` (a NaN distance never matches)."""
    return bool(distance <= threshold)


def similarity(distance: float, threshold: float) -> float:
    """A 0..1 score for display only (never for decisions): 0.5 at the threshold, toward 1 as the
    distance falls below it, toward 0 above it (logistic, scale 0.05 distance units)."""
    if not math.isfinite(distance):
        return 0.0
    z = (threshold - distance) / _SIMILARITY_SCALE
    return float(1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z)))))


def fmr_key(fmr: float) -> str:
    """Manifest key of a false-match rate: ``1e-3`` -> ``"fmr_1e-3"``, ``0.002`` -> ``"fmr_2e-3"``."""
    if not (0.0 < fmr < 1.0):
        raise ValueError(f"false-match rate must be in (0, 1), got {fmr}")
    mant, exp = f"{fmr:.6e}".split("e")
    m = mant.rstrip("0").rstrip(".")
    return f"fmr_{m}e{int(exp)}"


def embedder_meta(manifest: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest's ``face_embedder`` table ({} when the manifest has none)."""
    if manifest is None:
        from kiosk.models import load_manifest

        manifest = load_manifest()
    meta = manifest.get(MANIFEST_META_KEY)
    if meta is None:
        meta = manifest.get("meta", {}).get(MANIFEST_META_KEY)
    return meta if isinstance(meta, dict) else {}


def calibrated_entry(
    variant: str, fmr: float, manifest: dict[str, Any] | None = None, *, kind: str = "live"
) -> dict[str, Any] | None:
    """The calibration record for ``variant`` at ``fmr`` (``kind`` "live" or "document"), or None.

    Live thresholds live at ``thresholds.calibrated[variant][fmr_key]``; document-portrait ones at
    ``thresholds.calibrated[variant]["document"][fmr_key]``.
    """
    cal = embedder_meta(manifest).get("thresholds", {}).get("calibrated", {})
    table = cal.get(variant, {}) if isinstance(cal, dict) else {}
    if kind == "document":
        table = table.get("document", {}) if isinstance(table, dict) else {}
    entry = table.get(fmr_key(fmr)) if isinstance(table, dict) else None
    return entry if isinstance(entry, dict) and "threshold" in entry else None


def resolve_threshold(match_cfg: Any, manifest: dict[str, Any] | None = None) -> tuple[float, float, str]:
    """(threshold, fmr_target, source) for live-vs-ID matching.

    ``match_cfg`` is a :class:`kiosk.config.face.MatchConfig`. An explicit ``threshold`` wins
    (source ``"config"``); ``null`` takes the manifest's value calibrated for ``fmr_target`` and the
    configured ``model`` variant (source ``"manifest:<variant>:<fmr key>"``). Raises
    :class:`ConfigError` when neither exists: running on an uncalibrated threshold would silently
    change the false-match rate the operator asked for.
    """
    fmr = float(match_cfg.fmr_target)
    if match_cfg.threshold is not None:
        return float(match_cfg.threshold), fmr, "config"
    try:
        entry = calibrated_entry(match_cfg.model, fmr, manifest)
    except ModelError as exc:
        raise ConfigError(f"face.match.threshold is null and the model manifest is unusable: {exc}") from None
    if entry is None:
        raise ConfigError(
            f"face.match.threshold is null but models/manifest.json has no threshold calibrated for model "
            f"{match_cfg.model} at {fmr_key(fmr)}; run `ekyc-kiosk calibrate PAIRS --images DIR "
            f"--fmr {fmr:g} --model {match_cfg.model} --write` or set face.match.threshold"
        )
    return float(entry["threshold"]), fmr, f"manifest:{match_cfg.model}:{fmr_key(fmr)}"


def resolve_document_threshold(
    match_cfg: Any, manifest: dict[str, Any] | None = None
) -> tuple[float, float, str]:
    """(threshold, fmr_target, source) for a scanned ID portrait against a live face.

    ``document_threshold`` in the config wins; then a document-specific manifest calibration;
    otherwise the live threshold of :func:`resolve_threshold` (measured to be adequate, see
    docs/accuracy.md), with its source suffixed ``"+same_as_live"``.
    """
    fmr = float(match_cfg.fmr_target)
    if match_cfg.document_threshold is not None:
        return float(match_cfg.document_threshold), fmr, "config:document_threshold"
    try:
        entry = calibrated_entry(match_cfg.model, fmr, manifest, kind="document")
    except ModelError:
        entry = None
    if entry is not None:
        return float(entry["threshold"]), fmr, f"manifest:{match_cfg.model}:document:{fmr_key(fmr)}"
    thr, fmr, src = resolve_threshold(match_cfg, manifest)
    return thr, fmr, f"{src}+same_as_live"
