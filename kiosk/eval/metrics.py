"""Verification metrics on Euclidean distances (lower = more alike; a match is ``distance <= t``).

A failure to enrol is scored as distance ``+inf``: it never matches, so a genuine pair with an
FTE image counts as a false non-match and an impostor pair as a (correct) non-match.

* :func:`cv_accuracy`: LFW protocol: for each fold, the threshold that maximises accuracy on the
  other folds is applied to the held-out fold; mean and standard deviation over folds.
* :func:`roc_auc`: probability that a genuine pair is closer than an impostor pair (ties half).
* :func:`threshold_at_fmr` / :func:`tar_at_fmr`: the largest threshold whose false-match rate is
  at most the target, and the true-accept rate there.
* :func:`identity_bootstrap`: confidence intervals by resampling identities (pairs that share a
  person are not independent, so resampling pairs would understate the spread).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


def best_threshold(distances: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(threshold, accuracy) maximising accuracy of ``distance <= t`` on these pairs.

    Candidates are midpoints between consecutive distinct finite distances (and just below the
    smallest / above the largest); ties go to the smallest such threshold.
    """
    d = np.asarray(distances, dtype=np.float64)
    y = np.asarray(same, dtype=bool)
    if len(d) == 0:
        return float("nan"), float("nan")
    order = np.argsort(d, kind="mergesort")
    ds, ys = d[order], y[order]
    # accepting the first k sorted pairs: correct = genuine among first k + impostors after k
    gen_cum = np.concatenate([[0], np.cumsum(ys)])
    imp_after = (~ys).sum() - np.concatenate([[0], np.cumsum(~ys)])
    correct = gen_cum + imp_after
    # only cut between distinct values
    valid = np.ones(len(d) + 1, dtype=bool)
    valid[1:-1] = ds[1:] > ds[:-1]
    finite_cut = np.ones(len(d) + 1, dtype=bool)
    finite_cut[1:] = np.isfinite(ds)
    valid &= finite_cut
    k = int(np.flatnonzero(valid)[np.argmax(correct[valid])])
    if k == 0:
        t = ds[0] - 1e-6 if np.isfinite(ds[0]) else 0.0
    elif k == len(d) or not np.isfinite(ds[k]):
        t = ds[k - 1] + 1e-6
    else:
        t = 0.5 * (ds[k - 1] + ds[k])
    return float(t), float(correct[k]) / len(d)


@dataclass(frozen=True)
class CVAccuracy:
    mean: float
    std: float
    fold_accuracy: tuple[float, ...]
    fold_threshold: tuple[float, ...]

    @property
    def threshold_mean(self) -> float:
        return float(np.mean(self.fold_threshold))


def cv_accuracy(distances: np.ndarray, same: np.ndarray, folds: np.ndarray) -> CVAccuracy:
    """k-fold cross-validated accuracy (k = number of distinct fold ids)."""
    d = np.asarray(distances, dtype=np.float64)
    y = np.asarray(same, dtype=bool)
    f = np.asarray(folds)
    accs, thrs = [], []
    for k in np.unique(f):
        test = f == k
        t, _ = best_threshold(d[~test], y[~test])
        accs.append(float(np.mean((d[test] <= t) == y[test])))
        thrs.append(t)
    return CVAccuracy(float(np.mean(accs)), float(np.std(accs)), tuple(accs), tuple(thrs))


def roc_auc(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """Area under the ROC curve for distances: P(genuine < impostor) + 0.5 P(equal)."""
    g = np.asarray(genuine, dtype=np.float64)
    i = np.sort(np.asarray(impostor, dtype=np.float64))
    if len(g) == 0 or len(i) == 0:
        return float("nan")
    below = np.searchsorted(i, g, side="left")  # impostors strictly closer than each genuine
    upto = np.searchsorted(i, g, side="right")
    greater = len(i) - upto
    ties = upto - below
    return float((greater.sum() + 0.5 * ties.sum()) / (len(g) * len(i)))


def threshold_at_fmr(impostor: np.ndarray, fmr: float) -> tuple[float, int]:
    """(threshold, allowed) with ``allowed = floor(fmr * n)`` impostors at or below the threshold.

    The threshold is the midpoint between the ``allowed``-th and the next larger impostor distance
    (so its FMR on these impostors is at most ``fmr``); below the smallest impostor when
    ``allowed`` is 0. NaN when there are no impostors.
    """
    i = np.sort(np.asarray(impostor, dtype=np.float64))
    i = i[np.isfinite(i)] if np.isinf(i).any() else i
    n = len(i)
    if n == 0:
        return float("nan"), 0
    allowed = math.floor(fmr * n + 1e-9)
    if allowed >= n:
        return float(i[-1]) + 1e-6, n
    nxt = i[allowed]
    lower = i[:allowed][i[:allowed] < nxt]
    if len(lower):
        return float(0.5 * (lower[-1] + nxt)), len(lower)
    return float(max(0.0, nxt - 1e-6)), 0


@dataclass(frozen=True)
class OperatingPoint:
    fmr_target: float
    threshold: float
    tar: float
    fmr: float
    n_genuine: int
    n_impostor: int

    @property
    def resolvable(self) -> bool:
        """Whether there are enough impostors to estimate this FMR at all (at least 1 / fmr)."""
        return self.n_impostor * self.fmr_target >= 1.0


def tar_at_fmr(genuine: np.ndarray, impostor: np.ndarray, fmr: float) -> OperatingPoint:
    """True-accept rate at the threshold of :func:`threshold_at_fmr`. Infinite distances count as
    non-matches in the genuine set and are excluded from the impostor set (they cannot match)."""
    g = np.asarray(genuine, dtype=np.float64)
    imp = np.asarray(impostor, dtype=np.float64)
    imp = imp[np.isfinite(imp)]
    t, _ = threshold_at_fmr(imp, fmr)
    tar = float(np.mean(g <= t)) if len(g) else float("nan")
    achieved = float(np.mean(imp <= t)) if len(imp) else float("nan")
    return OperatingPoint(fmr, t, tar, achieved, len(g), len(imp))


# --- identity bootstrap ------------------------------------------------------------------------


@dataclass(frozen=True)
class PairScores:
    """Genuine and impostor distances with the identity indices of both sides, for resampling.

    ``gen_id``: (G,) identity of each genuine pair. ``imp_ids``: (I, 2) identities of each impostor
    pair (only the closest impostors need to be kept: ``imp_total_by_id`` gives each identity's
    image count so the full impostor weight can still be computed).
    """

    genuine: np.ndarray
    gen_id: np.ndarray
    impostor: np.ndarray
    imp_ids: np.ndarray
    images_per_id: np.ndarray  # (n_ids,) enrolled images of each identity
    n_impostor_total: int


def pair_scores(dist: np.ndarray, ids: np.ndarray, valid: np.ndarray, keep_impostors: int) -> PairScores:
    """Split an image distance matrix into genuine pairs (same identity, all, FTE = inf) and the
    ``keep_impostors`` closest impostor pairs (different identity, both enrolled).

    ``dist``: (N, N) distances, ``ids``: (N,) identity index per image, ``valid``: (N,) enrolled.
    """
    n = len(ids)
    iu, ju = np.triu_indices(n, k=1)
    same = ids[iu] == ids[ju]
    gi, gj = iu[same], ju[same]
    genuine = np.where(valid[gi] & valid[gj], dist[gi, gj], np.inf)
    imp_mask = ~same & valid[iu] & valid[ju]
    ii, jj = iu[imp_mask], ju[imp_mask]
    imp = dist[ii, jj]
    n_total = len(imp)
    if keep_impostors < n_total:
        part = np.argpartition(imp, keep_impostors)[:keep_impostors]
        ii, jj, imp = ii[part], jj[part], imp[part]
    order = np.argsort(imp, kind="mergesort")
    counts = np.bincount(ids[valid], minlength=int(ids.max()) + 1)
    return PairScores(
        genuine=genuine,
        gen_id=ids[gi],
        impostor=imp[order],
        imp_ids=np.stack([ids[ii][order], ids[jj][order]], axis=1),
        images_per_id=counts,
        n_impostor_total=n_total,
    )


@dataclass(frozen=True)
class BootstrapCI:
    """Percentile interval over ``n`` identity-bootstrap replicates (``level`` e.g. 0.95)."""

    low: float
    high: float
    level: float
    n: int

    def as_list(self) -> list[float]:
        return [round(self.low, 4), round(self.high, 4)]


def identity_bootstrap(
    scores: PairScores, fmr: float, n_boot: int, seed: int, level: float = 0.95
) -> tuple[BootstrapCI, BootstrapCI]:
    """Confidence intervals of (threshold at ``fmr``, TAR at that threshold) by resampling identities.

    Each replicate draws identities with replacement (multinomial counts ``c``); an impostor pair
    of identities (a, b) then weighs ``c_a * c_b``, a genuine pair of identity a weighs ``c_a``.
    The total impostor weight is computed exactly from the per-identity image counts, so only the
    closest impostors (those that can fall below the threshold) need to be kept.
    """
    rng = np.random.default_rng(seed)
    n_ids = len(scores.images_per_id)
    n_img = scores.images_per_id.astype(np.float64)
    thr = np.empty(n_boot)
    tar = np.empty(n_boot)
    a, b = scores.imp_ids[:, 0], scores.imp_ids[:, 1]
    for r in range(n_boot):
        c = rng.multinomial(n_ids, np.full(n_ids, 1.0 / n_ids)).astype(np.float64)
        cn = c * n_img
        total = 0.5 * (cn.sum() ** 2 - (cn**2).sum())
        allowed = fmr * total
        w = c[a] * c[b]
        cum = np.cumsum(w)
        k = int(np.searchsorted(cum, allowed, side="right"))  # impostors 0..k-1 fit within the budget
        if k >= len(cum):
            log.warning("bootstrap: kept impostors do not reach the FMR budget; threshold is a lower bound")
            thr[r] = float(scores.impostor[-1])
        else:
            nxt = scores.impostor[k]
            prev = scores.impostor[:k][scores.impostor[:k] < nxt]
            thr[r] = 0.5 * (prev[-1] + nxt) if len(prev) else nxt - 1e-6
        gw = c[scores.gen_id]
        tar[r] = float((gw * (scores.genuine <= thr[r])).sum() / max(gw.sum(), 1e-12))
    lo, hi = (1.0 - level) / 2.0, 1.0 - (1.0 - level) / 2.0
    return (
        BootstrapCI(float(np.quantile(thr, lo)), float(np.quantile(thr, hi)), level, n_boot),
        BootstrapCI(float(np.quantile(tar, lo)), float(np.quantile(tar, hi)), level, n_boot),
    )


def cross_set_bootstrap(
    dist: np.ndarray,
    row_ids: np.ndarray,
    col_ids: np.ndarray,
    fmr: float,
    n_boot: int,
    seed: int,
    level: float = 0.95,
) -> BootstrapCI:
    """CI of the threshold at ``fmr`` for impostor pairs between two sets (e.g. document portraits
    x photos): identities of both sides are resampled with replacement; a pair weighs the product
    of its two identities' draw counts."""
    rng = np.random.default_rng(seed)
    d = np.asarray(dist, dtype=np.float64).ravel()
    r = np.repeat(np.asarray(row_ids), dist.shape[1])
    c = np.tile(np.asarray(col_ids), dist.shape[0])
    order = np.argsort(d, kind="mergesort")
    d, r, c = d[order], r[order], c[order]
    n_r, n_c = int(r.max()) + 1, int(c.max()) + 1
    thr = np.empty(n_boot)
    for b in range(n_boot):
        wr = rng.multinomial(n_r, np.full(n_r, 1.0 / n_r)).astype(np.float64)
        wc = rng.multinomial(n_c, np.full(n_c, 1.0 / n_c)).astype(np.float64)
        w = wr[r] * wc[c]
        cum = np.cumsum(w)
        k = int(np.searchsorted(cum, fmr * cum[-1], side="right"))
        if k >= len(d):
            thr[b] = d[-1]
            continue
        prev = d[:k][d[:k] < d[k]]
        thr[b] = 0.5 * (prev[-1] + d[k]) if len(prev) else d[k] - 1e-6
    lo, hi = (1.0 - level) / 2.0, 1.0 - (1.0 - level) / 2.0
    return BootstrapCI(float(np.quantile(thr, lo)), float(np.quantile(thr, hi)), level, n_boot)
