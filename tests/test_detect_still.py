"""StillFaceDetector on real photos: single faces, small faces, several faces, none, sideways."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.imageio import load_image
from kiosk.perception.detect import DetectorOptions, StillFaceDetector, box_iou, tile_grid

LIMITS = {"max_bytes": 25_000_000, "max_pixels": 60_000_000}


@pytest.fixture(scope="module")
def detector() -> Iterator[StillFaceDetector]:
    det = StillFaceDetector(DetectorOptions(rotations=True))
    yield det
    det.close()


def _lfw(data_dir: Path, n: int) -> list[Path]:
    files = sorted((data_dir / "lfw_devtrain" / "images").glob("*/*.jpg"))
    return files[:: max(1, len(files) // n)][:n]


def test_tile_grid_covers_the_image() -> None:
    tiles = tile_grid(600, 420, 250)
    assert all(x + s <= 600 and y + s <= 420 for x, y, s, _ in tiles)
    assert max(x + s for x, _, s, _ in tiles) == 600 and max(y + s for _, y, s, _ in tiles) == 420
    assert box_iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(1 / 3)


def test_lfw_single_face_with_landmarks(data_dir: Path, detector: StillFaceDetector) -> None:
    for f in _lfw(data_dir, 4):
        rgb = load_image(f, **LIMITS)
        faces = detector.detect(rgb)
        assert len(faces) >= 1, f.name
        face = faces[0]
        assert face.landmarks.shape == (478, 3) and face.five_points.shape == (5, 2)
        x, y, w, h = face.box
        # LFW crops centre the face at about 100 px.
        assert 60 < w < 200 and 60 < h < 200
        assert 50 < x + w / 2 < 200 and 50 < y + h / 2 < 200
        assert face.quality is not None and face.quality.face_px == pytest.approx(min(w, h))


def test_lfw_cheap_mode_makes_one_call(data_dir: Path) -> None:
    rgb = load_image(_lfw(data_dir, 1)[0], **LIMITS)
    with StillFaceDetector(DetectorOptions(min_face_px=60)) as det:
        faces = det.detect(rgb)
        assert len(faces) == 1
        assert det.calls <= 2  # whole image (+ nothing else) for a 250 px crop


@pytest.mark.parametrize("face_px", [24, 32])
def test_small_face_in_a_large_frame(data_dir: Path, detector: StillFaceDetector, face_px: int) -> None:
    """A face 24 px wide in a 640x480 picture is found (the documented minimum)."""
    rng = np.random.default_rng(11)
    found = 0
    files = _lfw(data_dir, 4)
    for f in files:
        rgb = load_image(f, **LIMITS)
        big = detector.detect(rgb)[0]
        s = face_px / big.box[2]
        small = cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        canvas = np.clip(128 + rng.normal(0, 6, (480, 640, 3)), 0, 255).astype(np.uint8)
        x0, y0 = 380, 120
        canvas[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
        expect = (x0 + big.box[0] * s, y0 + big.box[1] * s, big.box[2] * s, big.box[3] * s)
        faces = detector.detect(canvas)
        if any(box_iou(fc.box, expect) > 0.4 for fc in faces):
            found += 1
        assert len(faces) <= 1  # no duplicates from overlapping tiles, no invented faces
    assert found == len(files)


def test_several_faces(data_dir: Path, detector: StillFaceDetector) -> None:
    rgb = load_image(data_dir / "face_recognition_examples" / "multi_face" / "two_people.jpg", **LIMITS)
    faces = detector.detect(rgb)
    assert len(faces) == 2
    assert faces[0].area >= faces[1].area
    assert box_iou(faces[0].box, faces[1].box) < 0.1


def test_no_face(data_dir: Path, detector: StillFaceDetector) -> None:
    for rel in ("misc_faces/no_face/none.jpg", "misc_faces/no_face/dlib_dogs.jpg"):
        assert detector.detect(load_image(data_dir / rel, **LIMITS)) == [], rel


def test_sideways_picture(data_dir: Path, detector: StillFaceDetector) -> None:
    rgb = load_image(_lfw(data_dir, 2)[1], **LIMITS)
    upright = detector.detect(rgb)[0]
    turned = np.ascontiguousarray(np.rot90(rgb, 1))  # 90 degrees counter-clockwise
    faces = detector.detect(turned)
    assert faces, "a face turned 90 degrees is found"
    # Landmarks are in the turned image's pixels: map the upright nose tip and compare.
    nx, ny = upright.landmarks[1, :2]
    expect = np.array([ny, rgb.shape[1] - 1 - nx])
    assert np.linalg.norm(faces[0].landmarks[1, :2] - expect) < 0.15 * upright.box[2]


def test_relative_floor_still_finds_a_second_person(data_dir: Path) -> None:
    """The selfie detector's floor (0.8 x sqrt(0.1) of the main face's side) never spends more
    landmarker calls, and still finds a second person big enough to make the selfie unusable."""
    from kiosk.config.schema import KioskConfig
    from kiosk.errors import InputError
    from kiosk.verifier import FaceVerifier

    a, b = (load_image(f, **LIMITS) for f in _lfw(data_dir, 2))
    rng = np.random.default_rng(5)
    canvas = np.clip(128 + rng.normal(0, 6, (1000, 1400, 3)), 0, 255).astype(np.uint8)
    big = cv2.resize(a, None, fx=2.4, fy=2.4, interpolation=cv2.INTER_CUBIC)  # face ~240 px
    small = cv2.resize(b, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)  # face ~80 px
    canvas[150 : 150 + big.shape[0], 60 : 60 + big.shape[1]] = big
    canvas[700 : 700 + small.shape[0], 1150 : 1150 + small.shape[1]] = small
    with FaceVerifier(KioskConfig.model_validate({})) as v, StillFaceDetector() as full:
        faces = v.detector.detect(canvas)
        reference = full.detect(canvas)
        assert len(reference) == 2 and len(faces) == 2
        assert v.detector.calls <= full.calls
        assert faces[1].area / faces[0].area > 0.1
        with pytest.raises(InputError) as err:
            v.select_selfie_face(faces)
        assert err.value.code == "several_faces"
