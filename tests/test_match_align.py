"""Alignment: dlib's chip geometry, the fitted mesh -> dlib 5-point map, and its residual on real faces."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from kiosk.perception import align
from kiosk.perception.align_map import FIT_INFO, MESH_TO_DLIB5
from kiosk.perception.types import FIVE_POINT_MESH_IDX


def test_map_is_well_formed() -> None:
    assert len(MESH_TO_DLIB5) == 5
    for idx, w, off in MESH_TO_DLIB5:
        assert len(idx) == len(w) >= 1 and len(off) == 2
        assert all(0 <= i < 468 for i in idx)  # no iris vertices (they follow the gaze)
        assert all(v >= 0 for v in w) and sum(w) == pytest.approx(1.0, abs=1e-4)
        assert max(abs(off[0]), abs(off[1])) < 10  # chip px: a correction, not a different point
    assert "residual_fitted_heldout" in FIT_INFO


def test_similarity_transform_recovers_a_known_transform() -> None:
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, size=(6, 2))
    ang, s, t = 0.3, 1.7, np.array([12.0, -4.0])
    rot = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
    dst = src @ (s * rot).T + t
    m = align.similarity_transform(src, dst)
    assert np.allclose(m[:, :2], s * rot) and np.allclose(m[:, 2], t)
    assert np.allclose(align.apply_transform(align.invert_transform(m), dst), src)


def _synthetic_mesh(rng: np.random.Generator) -> np.ndarray:
    lm = rng.uniform(40, 160, size=(478, 3))
    lm[list(FIVE_POINT_MESH_IDX), :2] = align.chip_template() + rng.normal(0, 2, size=(5, 2))
    return lm


def test_dlib_five_points_follow_rotation_scale_and_shift() -> None:
    rng = np.random.default_rng(1)
    lm = _synthetic_mesh(rng)
    p = align.dlib_five_points(lm)
    ang, s, t = -0.4, 2.3, np.array([300.0, 80.0])
    rot = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
    moved = lm.copy()
    moved[:, :2] = lm[:, :2] @ (s * rot).T + t
    assert np.allclose(align.dlib_five_points(moved), p @ (s * rot).T + t, atol=1e-6)


def test_bad_landmarks_are_refused() -> None:
    with pytest.raises(ValueError):
        align.dlib_five_points(np.zeros((68, 2)))
    lm = _synthetic_mesh(np.random.default_rng(2))
    lm[5, 0] = np.nan
    with pytest.raises(ValueError):
        align.dlib_five_points(lm)


def test_chip_geometry_matches_dlib() -> None:
    dlib = pytest.importorskip("dlib", reason="dlib (dev extra) not installed")
    rng = np.random.default_rng(4)
    base = np.array([[200, 100], [170, 102], [60, 100], [90, 102], [130, 160]], dtype=np.float64)
    for _ in range(5):
        pts = np.round(base + rng.normal(0, 6, size=(5, 2)))
        det = dlib.full_object_detection(
            dlib.rectangle(40, 40, 220, 220), [dlib.point(int(x), int(y)) for x, y in pts]
        )
        cd = dlib.get_face_chip_details(det, 150, 0.25)
        to_img = align.invert_transform(align.image_to_chip(pts))
        centre = align.apply_transform(to_img, np.array([[75.0, 75.0]]))[0]
        r = cd.rect
        assert centre == pytest.approx(((r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2), abs=1e-6)
        assert math.atan2(to_img[1, 0], to_img[0, 0]) == pytest.approx(cd.angle, abs=1e-9)


def test_fit_residual_on_lfw_faces(data_dir: Path) -> None:
    """On 30 LFW faces (part of the fit's data; FIT_INFO has the held-out figure), the mapped points
    sit closer to dlib's own than the raw mesh vertices, and within 2.5 chip px on average (dlib's
    integer points alone add about 0.5 px)."""
    dlib = pytest.importorskip("dlib", reason="dlib (dev extra) not installed")
    from kiosk.imageio import load_image
    from kiosk.models import verified_model_path
    from kiosk.perception.dlib_ref import SHAPE5_DAT, dlib_model_file
    from kiosk.perception.landmarker import FaceLandmarker, LandmarkerOptions, RunningMode

    hog = dlib.get_frontal_face_detector()
    sp5 = dlib.shape_predictor(str(dlib_model_file(SHAPE5_DAT)))
    paths = sorted((data_dir / "lfw_devtrain" / "images").rglob("*.jpg"))[5::110][:30]
    raw_err, map_err = [], []
    opts = LandmarkerOptions(verified_model_path("face_landmarker"), RunningMode.IMAGE, 2, blendshapes=False)
    with FaceLandmarker(opts) as lmk:
        for p in paths:
            rgb = load_image(p, max_bytes=5_000_000, max_pixels=4_000_000)
            dets = hog(rgb, 1)
            faces = lmk.detect(rgb).faces
            if len(dets) != 1 or len(faces) != 1:
                continue
            s = sp5(rgb, dets[0])
            true5 = np.array([[s.part(k).x, s.part(k).y] for k in range(5)], dtype=np.float64)
            raw_err.append(align.chip_residual_px(align.raw_five_points(faces[0].landmarks), true5)[0].mean())
            map_err.append(
                align.chip_residual_px(align.dlib_five_points(faces[0].landmarks), true5)[0].mean()
            )
    assert len(map_err) >= 15
    assert float(np.mean(map_err)) < 2.5
    assert float(np.mean(map_err)) < float(np.mean(raw_err))
