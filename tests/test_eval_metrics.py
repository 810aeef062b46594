"""Verification metrics on small distributions whose answers can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.eval import metrics


def test_best_threshold_separable() -> None:
    d = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    same = np.array([1, 1, 1, 0, 0, 0], dtype=bool)
    t, acc = metrics.best_threshold(d, same)
    assert acc == 1.0
    assert t == pytest.approx(0.5)  # midpoint between 0.3 and 0.7


def test_best_threshold_with_overlap() -> None:
    # sorted: 0.1 G, 0.2 I, 0.3 G, 0.4 G, 0.5 I, 0.6 I  -> cut after 0.4 gets 5/6
    d = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    same = np.array([1, 0, 1, 1, 0, 0], dtype=bool)
    t, acc = metrics.best_threshold(d, same)
    assert acc == pytest.approx(5 / 6)
    assert t == pytest.approx(0.45)


def test_best_threshold_never_cuts_between_ties() -> None:
    d = np.array([0.3, 0.3, 0.9])
    same = np.array([1, 0, 0], dtype=bool)
    t, acc = metrics.best_threshold(d, same)
    # accepting the tie accepts both (1 right, 1 wrong): both choices give 2/3; smallest wins
    assert acc == pytest.approx(2 / 3)
    assert t < 0.3


def test_cv_accuracy_on_two_folds() -> None:
    d = np.array([0.1, 0.2, 0.8, 0.9, 0.15, 0.25, 0.85, 0.95])
    same = np.array([1, 1, 0, 0, 1, 1, 0, 0], dtype=bool)
    folds = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    cv = metrics.cv_accuracy(d, same, folds)
    assert cv.mean == 1.0 and cv.std == 0.0 and len(cv.fold_accuracy) == 2
    # fold 0 trained on fold 1: midpoint of 0.25 and 0.85
    assert cv.fold_threshold[0] == pytest.approx(0.55)


def test_cv_accuracy_counts_fte_as_non_match() -> None:
    d = np.array([0.1, np.inf, 0.9, np.inf, 0.1, 0.2, 0.9, 0.8])
    same = np.array([1, 1, 0, 0, 1, 1, 0, 0], dtype=bool)
    folds = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    cv = metrics.cv_accuracy(d, same, folds)
    assert cv.fold_accuracy[0] == pytest.approx(0.75)  # the inf genuine pair is a false non-match


def test_roc_auc_hand_computed() -> None:
    gen = np.array([0.1, 0.4])
    imp = np.array([0.3, 0.4, 0.5])
    # pairs (g, i): 0.1 beats all 3; 0.4 vs 0.3 loses, vs 0.4 ties (0.5), vs 0.5 wins -> (3 + 1.5) / 6
    assert metrics.roc_auc(gen, imp) == pytest.approx(4.5 / 6)
    assert metrics.roc_auc(np.array([0.1]), np.array([0.9])) == 1.0
    assert metrics.roc_auc(np.array([np.inf]), np.array([0.9])) == 0.0


def test_threshold_at_fmr() -> None:
    imp = np.arange(1, 101) / 100.0  # 0.01 .. 1.00
    t, allowed = metrics.threshold_at_fmr(imp, 0.05)
    assert allowed == 5
    assert t == pytest.approx(0.055)
    assert np.mean(imp <= t) == pytest.approx(0.05)
    t0, a0 = metrics.threshold_at_fmr(imp, 0.001)
    assert a0 == 0 and t0 < 0.01


def test_threshold_at_fmr_with_ties_stays_within_target() -> None:
    imp = np.array([0.2, 0.2, 0.2, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1])
    t, allowed = metrics.threshold_at_fmr(imp, 0.2)  # 2 allowed, but three tie at 0.2
    assert np.mean(imp <= t) <= 0.2
    assert allowed == 0 and t < 0.2


def test_tar_at_fmr() -> None:
    imp = np.arange(1, 1001) / 1000.0
    gen = np.array([0.0005, 0.001, 0.0015, 0.5, np.inf])
    op = metrics.tar_at_fmr(gen, imp, 1e-3)
    assert op.threshold == pytest.approx(0.0015)
    assert op.tar == pytest.approx(3 / 5)  # the inf (FTE) pair is a miss
    assert op.fmr == pytest.approx(1e-3)
    assert op.resolvable and not metrics.tar_at_fmr(gen, imp, 1e-4).resolvable


def _toy_matrix(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """30 identities x 3 images; genuine distances ~0.4, impostors ~0.9."""
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(30), 3)
    n = len(ids)
    d = rng.normal(0.9, 0.08, size=(n, n))
    same = ids[:, None] == ids[None, :]
    d[same] = rng.normal(0.4, 0.08, size=int(same.sum()))
    d = np.triu(d, 1)
    d = d + d.T
    np.fill_diagonal(d, 0.0)
    return d, ids, np.ones(n, dtype=bool)


def test_pair_scores_counts() -> None:
    d, ids, valid = _toy_matrix()
    valid[0] = False
    s = metrics.pair_scores(d, ids, valid, keep_impostors=100)
    assert len(s.genuine) == 30 * 3
    assert np.isinf(s.genuine).sum() == 2  # image 0 is in 2 genuine pairs
    n_valid = 89
    assert s.n_impostor_total == n_valid * (n_valid - 1) // 2 - (29 * 3 + 1)
    assert len(s.impostor) == 100 and np.all(np.diff(s.impostor) >= 0)


def test_identity_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    d, ids, valid = _toy_matrix()
    s = metrics.pair_scores(d, ids, valid, keep_impostors=2000)
    thr, _ = metrics.threshold_at_fmr(s.impostor, 0.01 * s.n_impostor_total / len(s.impostor))
    a = metrics.identity_bootstrap(s, 0.01, 200, seed=7)
    b = metrics.identity_bootstrap(s, 0.01, 200, seed=7)
    assert a == b
    thr_ci, tar_ci = a
    assert thr_ci.low <= thr <= thr_ci.high
    assert thr_ci.high - thr_ci.low < 0.2
    assert 0.5 < tar_ci.low <= tar_ci.high <= 1.0


def test_cross_set_bootstrap_brackets_the_threshold() -> None:
    rng = np.random.default_rng(5)
    dist = rng.normal(0.9, 0.1, size=(12, 300))
    rows = np.arange(12)
    cols = np.repeat(np.arange(100), 3)
    thr, _ = metrics.threshold_at_fmr(dist.ravel(), 0.01)
    ci = metrics.cross_set_bootstrap(dist, rows, cols, 0.01, 200, seed=1)
    assert ci == metrics.cross_set_bootstrap(dist, rows, cols, 0.01, 200, seed=1)
    assert ci.low <= thr <= ci.high < 0.9
