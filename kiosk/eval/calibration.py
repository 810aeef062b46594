"""Threshold calibration for a target false-match rate, and where the result is stored.

The threshold is the largest Euclidean distance whose false-match rate over ALL cross-identity
image pairs is at most the target (see :func:`kiosk.eval.metrics.threshold_at_fmr`). Images where
no face was found are left out of both distributions (they never reach the matcher) and reported.
The confidence interval comes from an identity bootstrap (seeded).

The record goes to ``models/manifest.json`` at
``face_embedder.thresholds.calibrated[<variant>][<fmr key>]`` (``[<variant>]["document"][<fmr key>]``
for an ID-portrait threshold), where :func:`kiosk.perception.match.resolve_threshold` reads it.
The manifest is shared with the model build, so it is rewritten under a lock, keys outside that
path left as they are.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.errors import InputError, ModelError
from kiosk.eval import metrics
from kiosk.perception.match import MANIFEST_META_KEY, fmr_key

log = logging.getLogger(__name__)

#: Impostor pairs kept for the bootstrap, as a multiple of the pairs allowed below the threshold.
KEEP_FACTOR = 25


@dataclass(frozen=True)
class Calibration:
    variant: str
    fmr_target: float
    threshold: float
    threshold_ci: metrics.BootstrapCI
    tar: float
    tar_ci: metrics.BootstrapCI
    fmr_achieved: float
    n_genuine: int
    n_impostor: int
    fte: int
    data: str

    def record(self, seed: int) -> dict[str, Any]:
        """The manifest record (``threshold, ci, tar, n_genuine, n_impostor, data`` and context)."""
        return {
            "threshold": round(self.threshold, 4),
            "ci": self.threshold_ci.as_list(),
            "ci_level": self.threshold_ci.level,
            "tar": round(self.tar, 4),
            "tar_ci": self.tar_ci.as_list(),
            "fmr_achieved": float(f"{self.fmr_achieved:.3g}"),
            "n_genuine": self.n_genuine,
            "n_impostor": self.n_impostor,
            "fte": self.fte,
            "data": self.data,
            "bootstrap": {"replicates": self.threshold_ci.n, "seed": seed, "resampled": "identities"},
            "date": dt.date.today().isoformat(),
        }


def calibrate(
    dist: np.ndarray,
    ids: np.ndarray,
    enrolled: np.ndarray,
    *,
    variant: str,
    fmr: float,
    n_boot: int,
    seed: int,
    data: str,
) -> Calibration:
    """Threshold at ``fmr`` with identity-bootstrap CIs from an image distance matrix."""
    n = int(enrolled.sum())
    total_imp = n * (n - 1) // 2
    if total_imp * fmr < 1.0:
        raise InputError(
            f"{total_imp} impostor pairs cannot resolve a false-match rate of {fmr:g} "
            f"(at least {1 / fmr:.0f} needed); "
            "use more images or a higher --fmr",
            code="too_few_pairs",
        )
    keep = int(min(total_imp, max(20_000, KEEP_FACTOR * fmr * total_imp)))
    scores = metrics.pair_scores(dist, ids, enrolled, keep)
    genuine = scores.genuine[np.isfinite(scores.genuine)]
    if len(genuine) == 0:
        raise InputError("no same-person image pairs among the enrolled images", code="too_few_pairs")
    # the kept impostors are the closest ones; the threshold only depends on those
    thr, _ = metrics.threshold_at_fmr(scores.impostor, fmr * scores.n_impostor_total / len(scores.impostor))
    fmr_achieved = float(np.sum(scores.impostor <= thr)) / scores.n_impostor_total
    tar = float(np.mean(genuine <= thr))
    # FTE genuine pairs never reach the matcher: leave them out of the resampled distribution too
    fin = np.isfinite(scores.genuine)
    resample = metrics.PairScores(
        scores.genuine[fin],
        scores.gen_id[fin],
        scores.impostor,
        scores.imp_ids,
        scores.images_per_id,
        scores.n_impostor_total,
    )
    thr_ci, tar_ci = metrics.identity_bootstrap(resample, fmr, n_boot, seed)
    return Calibration(
        variant=variant,
        fmr_target=fmr,
        threshold=thr,
        threshold_ci=thr_ci,
        tar=tar,
        tar_ci=tar_ci,
        fmr_achieved=fmr_achieved,
        n_genuine=len(genuine),
        n_impostor=scores.n_impostor_total,
        fte=int((~enrolled).sum()),
        data=data,
    )


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl
    import hashlib
    import tempfile

    # The lock lives outside models/ so it never ends up beside the shipped files.
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    lock = Path(tempfile.gettempdir()) / f"ekyc-manifest-{digest}.lock"
    with open(lock, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_calibration(
    manifest_path: Path, variant: str, fmr: float, record: dict[str, Any], *, kind: str = "live"
) -> None:
    """Read-modify-write ``manifest_path``, setting only the calibration record's key."""
    with _locked(manifest_path):
        try:
            data = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read the model manifest {manifest_path}: {exc}") from None
        meta = data.setdefault(MANIFEST_META_KEY, {})
        table = meta.setdefault("thresholds", {}).setdefault("calibrated", {}).setdefault(variant, {})
        if kind == "document":
            table = table.setdefault("document", {})
        table[fmr_key(fmr)] = record
        tmp = manifest_path.with_name(manifest_path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, manifest_path)
    log.info("calibration written: %s %s %s", variant, kind, fmr_key(fmr))
