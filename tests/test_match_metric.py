"""Metric and decision functions of kiosk.perception.match, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kiosk.config.face import MatchConfig
from kiosk.errors import ConfigError
from kiosk.perception.match import (
    DLIB_DEFAULT_THRESHOLD,
    compare_faces,
    face_distance,
    fmr_key,
    pairwise_distances,
    resolve_document_threshold,
    resolve_threshold,
    similarity,
)


def test_face_distance_hand_computed() -> None:
    a = np.zeros(128, dtype=np.float32)
    b = np.zeros(128, dtype=np.float32)
    b[0], b[1] = 0.3, 0.4  # 3-4-5 triangle scaled by 0.1
    assert face_distance(a, b) == pytest.approx(0.5)
    assert isinstance(face_distance(a, b), float)
    c = np.full(128, 0.05)
    assert face_distance(a, c) == pytest.approx(math.sqrt(128 * 0.05**2))
    assert face_distance(b, b) == 0.0


def test_face_distance_broadcasts_rows() -> None:
    a = np.zeros((3, 128))
    a[1, 5] = 1.0
    a[2, :2] = (0.6, 0.8)
    d = face_distance(a, np.zeros(128))
    assert d.shape == (3,)
    assert np.allclose(d, [0.0, 1.0, 1.0])


def test_face_distance_rejects_mismatched_sizes() -> None:
    with pytest.raises(ValueError):
        face_distance(np.zeros(128), np.zeros(64))


def test_pairwise_matches_direct_distances() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 128))
    y = rng.normal(size=(4, 128))
    m = pairwise_distances(x, y)
    assert m.shape == (5, 4)
    for i in range(5):
        for j in range(4):
            assert m[i, j] == pytest.approx(np.linalg.norm(x[i] - y[j]), abs=1e-9)
    assert np.allclose(np.diag(pairwise_distances(x)), 0.0, atol=1e-6)


def test_compare_faces_is_at_or_below_threshold() -> None:
    assert compare_faces(0.59, DLIB_DEFAULT_THRESHOLD)
    assert compare_faces(0.6, 0.6)
    assert not compare_faces(0.6000001, 0.6)
    assert not compare_faces(float("nan"), 0.6)
    assert not compare_faces(float("inf"), 0.6)


def test_similarity_is_for_display_and_monotonic() -> None:
    assert similarity(0.5, 0.5) == pytest.approx(0.5)
    assert similarity(0.3, 0.5) > 0.95
    assert similarity(0.8, 0.5) < 0.01
    assert similarity(0.2, 0.5) > similarity(0.4, 0.5) > similarity(0.6, 0.5)
    assert similarity(float("inf"), 0.5) == 0.0


def test_fmr_key() -> None:
    assert fmr_key(1e-3) == "fmr_1e-3"
    assert fmr_key(0.01) == "fmr_1e-2"
    assert fmr_key(1e-4) == "fmr_1e-4"
    assert fmr_key(0.002) == "fmr_2e-3"
    assert fmr_key(2.5e-4) == "fmr_2.5e-4"
    with pytest.raises(ValueError):
        fmr_key(0.0)


MANIFEST = {
    "schema": 1,
    "models": {},
    "face_embedder": {
        "thresholds": {
            "dlib_default": 0.6,
            "calibrated": {
                "int8": {"fmr_1e-3": {"threshold": 0.47}, "fmr_1e-2": {"threshold": 0.55}},
                "fp32": {"fmr_1e-3": {"threshold": 0.46}, "document": {"fmr_1e-3": {"threshold": 0.5}}},
            },
        }
    },
}


def test_resolve_threshold_config_wins() -> None:
    cfg = MatchConfig.model_validate({"threshold": 0.42})
    assert resolve_threshold(cfg, MANIFEST) == (0.42, 1e-3, "config")


def test_resolve_threshold_from_manifest_by_variant_and_fmr() -> None:
    assert resolve_threshold(MatchConfig.model_validate({}), MANIFEST) == (
        0.47,
        1e-3,
        "manifest:int8:fmr_1e-3",
    )
    assert resolve_threshold(MatchConfig.model_validate({"fmr_target": 0.01}), MANIFEST)[0] == 0.55
    assert resolve_threshold(MatchConfig.model_validate({"model": "fp32"}), MANIFEST)[0] == 0.46


def test_resolve_threshold_missing_calibration_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="calibrate"):
        resolve_threshold(MatchConfig.model_validate({"model": "fp16"}), MANIFEST)
    with pytest.raises(ConfigError):
        resolve_threshold(MatchConfig.model_validate({"fmr_target": 1e-4}), MANIFEST)


def test_resolve_document_threshold() -> None:
    assert (
        resolve_document_threshold(MatchConfig.model_validate({"document_threshold": 0.5}), MANIFEST)[2]
        == "config:document_threshold"
    )
    thr, _, src = resolve_document_threshold(MatchConfig.model_validate({"model": "fp32"}), MANIFEST)
    assert (thr, src) == (0.5, "manifest:fp32:document:fmr_1e-3")
    thr, _, src = resolve_document_threshold(MatchConfig.model_validate({}), MANIFEST)
    assert thr == 0.47 and src.endswith("+same_as_live")


def test_shipped_manifest_has_a_threshold_for_the_default_config() -> None:
    from kiosk.models import model_entry

    try:
        model_entry("face_embedder_int8")
    except Exception:
        pytest.skip("face embedder not built yet (models/manifest.json has no face_embedder_int8)")
    thr, fmr, src = resolve_threshold(MatchConfig.model_validate({}))
    assert 0.3 < thr < 0.7 and fmr == 1e-3 and src.startswith("manifest:int8")
