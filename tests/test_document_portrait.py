"""The still-image document step on real specimen documents and on pictures built from them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.config.document import DocumentConfig
from kiosk.document.pipeline import document_detector_options, process_document
from kiosk.document.portrait import eye_line_angle_deg
from kiosk.document.quad import find_document_quad
from kiosk.document.types import DocumentKind
from kiosk.errors import InputError
from kiosk.imageio import load_image
from kiosk.perception.detect import StillFaceDetector, box_iou

LIMITS = {"max_bytes": 25_000_000, "max_pixels": 60_000_000}
CFG = DocumentConfig.model_validate({})


@pytest.fixture(scope="module")
def detector() -> Iterator[StillFaceDetector]:
    det = StillFaceDetector(document_detector_options(CFG))
    yield det
    det.close()


def _doc(data_dir: Path, rel: str) -> np.ndarray:
    return load_image(data_dir / "id_documents" / rel, **LIMITS)


def _refusal(rgb: np.ndarray, detector: StillFaceDetector) -> str:
    with pytest.raises(InputError) as info:
        process_document(rgb, detector, CFG)
    assert info.value.message
    return info.value.code


@pytest.mark.parametrize(
    "rel",
    [
        "fastmrz/td3.jpg",
        "passporteye_testdata/100_pass-hrv.jpg",
        "passporteye_testdata/79_pass-hun.png",  # missed by a plain short-range pass
        "passporteye_testdata/100_pass-chn.jpg",  # missed by a plain short-range pass
    ],
)
def test_portrait_found(data_dir: Path, detector: StillFaceDetector, rel: str) -> None:
    res = process_document(_doc(data_dir, rel), detector, CFG)
    p = res.portrait
    x, y, w, h = p.box
    H, W = res.document.image.shape[:2]
    assert x >= 0 and y >= 0 and x + w <= W + 1 and y + h <= H + 1
    # ICAO layouts put the portrait in the left half of the data page.
    assert x + w / 2 < W / 2
    assert p.quality.face_px >= CFG.portrait.min_face_px
    assert p.crop.shape[0] > h and p.crop.shape[1] > w  # margin added
    assert abs(eye_line_angle_deg(p.face)) < 20
    d = res.as_dict()
    assert set(d["portrait"]["quality"]) >= {"face_px", "sharpness", "brightness", "exposure"}


def test_ghost_portrait_is_not_a_second_person(data_dir: Path, detector: StillFaceDetector) -> None:
    res = process_document(_doc(data_dir, "passporteye_testdata/100_pass-cze.jpg"), detector, CFG)
    assert res.portrait.ghosts >= 1


@pytest.mark.parametrize(
    "rel",
    ["passporteye_testdata/100_id-che.jpg", "fastmrz/nomrz.jpg", "passporteye_testdata/77_card-cmw.png"],
)
def test_no_portrait_on_backs_and_cards(data_dir: Path, detector: StillFaceDetector, rel: str) -> None:
    assert _refusal(_doc(data_dir, rel), detector) == "no_face"


def test_blank_image_is_no_face(data_dir: Path, detector: StillFaceDetector) -> None:
    rgb = load_image(data_dir / "misc_faces" / "no_face" / "none.jpg", **LIMITS)
    assert _refusal(rgb, detector) == "no_face"


def test_two_people_refused(data_dir: Path, detector: StillFaceDetector) -> None:
    rgb = load_image(data_dir / "face_recognition_examples" / "multi_face" / "two_people.jpg", **LIMITS)
    assert _refusal(rgb, detector) == "several_faces"


def test_two_documents_in_one_photo_refused(data_dir: Path, detector: StillFaceDetector) -> None:
    td3 = _doc(data_dir, "passporteye_tests/passport-td3.png")
    assert _refusal(np.hstack([td3, td3]), detector) == "several_faces"


def test_face_too_small(data_dir: Path, detector: StillFaceDetector) -> None:
    td3 = _doc(data_dir, "passporteye_tests/passport-td3.png")
    small = cv2.resize(td3, None, fx=0.22, fy=0.22, interpolation=cv2.INTER_AREA)
    assert _refusal(small, detector) == "face_too_small"


def test_face_too_blurred(data_dir: Path, detector: StillFaceDetector) -> None:
    td3 = _doc(data_dir, "passporteye_tests/passport-td3.png")
    assert _refusal(cv2.GaussianBlur(td3, (0, 0), 4.0), detector) == "face_too_blurred"


@pytest.mark.parametrize("k", [1, 2, 3])
def test_turned_document_comes_out_upright(data_dir: Path, detector: StillFaceDetector, k: int) -> None:
    td3 = _doc(data_dir, "passporteye_tests/passport-td3.png")
    res = process_document(np.ascontiguousarray(np.rot90(td3, k)), detector, CFG)
    assert abs(eye_line_angle_deg(res.portrait.face)) < 20
    H, W = res.document.image.shape[:2]
    assert W > H  # landscape again
    x, _, w, _ = res.portrait.box
    assert x + w / 2 < W / 2


def _photo_of(doc: np.ndarray, corners: np.ndarray, size: tuple[int, int], seed: int) -> np.ndarray:
    """The document warped onto a textured table, as a phone would see it."""
    w, h = size
    rng = np.random.default_rng(seed)
    base = rng.integers(30, 90, size=(h // 20 + 1, w // 20 + 1, 3)).astype(np.uint8)
    table = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
    table = np.clip(table.astype(int) + rng.integers(-6, 7, (h, w, 3)), 0, 255).astype(np.uint8)
    dh, dw = doc.shape[:2]
    src = np.float32([[0, 0], [dw - 1, 0], [dw - 1, dh - 1], [0, dh - 1]])
    hm = cv2.getPerspectiveTransform(src, corners.astype(np.float32))
    warped = cv2.warpPerspective(doc, hm, (w, h), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((dh, dw), 255, np.uint8), hm, (w, h)) > 127
    table[mask] = warped[mask]
    return table


def projected_corners(
    w_mm: float,
    h_mm: float,
    *,
    tilt_x_deg: float,
    tilt_y_deg: float,
    distance_mm: float,
    f_px: float,
    size: tuple[int, int],
) -> np.ndarray:
    """Corners (TL, TR, BR, BL) of a w x h mm rectangle seen by a pinhole camera, tilted away."""
    ax, ay = np.radians(tilt_x_deg), np.radians(tilt_y_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    pts = np.array(
        [
            [-w_mm / 2, -h_mm / 2, 0],
            [w_mm / 2, -h_mm / 2, 0],
            [w_mm / 2, h_mm / 2, 0],
            [-w_mm / 2, h_mm / 2, 0],
        ]
    )
    cam = pts @ (ry @ rx).T + [0.0, 0.0, distance_mm]
    u = f_px * cam[:, 0] / cam[:, 2] + size[0] / 2
    v = f_px * cam[:, 1] / cam[:, 2] + size[1] / 2
    return np.stack([u, v], axis=1).astype(np.float32)


def test_perspective_photo_is_rectified(data_dir: Path, detector: StillFaceDetector) -> None:
    td3 = _doc(data_dir, "passporteye_tests/passport-td3.png")
    # A passport data page photographed from above and to the side (tilted 35 and 15 degrees).
    corners = projected_corners(
        125.0, 88.0, tilt_x_deg=35.0, tilt_y_deg=15.0, distance_mm=185.0, f_px=1000.0, size=(1280, 900)
    )
    photo = _photo_of(td3, corners, (1280, 900), seed=4)
    quad = find_document_quad(photo)
    assert quad is not None
    assert np.abs(quad.corners - corners).max() < 12
    res = process_document(photo, detector, CFG)
    assert res.document.rectified
    assert res.document.kind is DocumentKind.TD3
    H, W = res.document.image.shape[:2]
    assert pytest.approx(125 / 88, rel=0.01) == W / H
    # The portrait maps back onto the face in the photo.
    upright = process_document(td3, detector, CFG).portrait
    src = np.array([[upright.box[0] + upright.box[2] / 2, upright.box[1] + upright.box[3] / 2]], np.float32)
    dh, dw = td3.shape[:2]
    hm = cv2.getPerspectiveTransform(
        np.float32([[0, 0], [dw - 1, 0], [dw - 1, dh - 1], [0, dh - 1]]), corners.astype(np.float32)
    )
    cx, cy = cv2.perspectiveTransform(src.reshape(1, 1, 2), hm).reshape(2)
    assert res.portrait.input_box is not None
    bx, by, bw, bh = res.portrait.input_box
    assert bx < cx < bx + bw and by < cy < by + bh
    assert res.as_dict()["rectified"] is True


def test_flat_scan_is_used_as_it_is(data_dir: Path, detector: StillFaceDetector) -> None:
    res = process_document(_doc(data_dir, "passporteye_testdata/100_pass-hrv.jpg"), detector, CFG)
    assert res.document.rectified is False
    assert box_iou(res.portrait.box, res.portrait.input_box or (0, 0, 0, 0)) > 0.99
