"""chip.py without dlib: template geometry, input checks, and consistency under image transforms."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.errors import InputError
from kiosk.perception.chip import (
    face_chip,
    get_face_chip_details,
    pyramid_down2,
    similarity_transform,
    template_points,
)


def test_template_points_in_chip_pixels() -> None:
    want = [
        (110.956746, 46.349815),
        (89.606048, 47.896744),
        (37.057506, 46.372745),
        (58.408506, 47.906424),
        (74.011231, 87.779753),
    ]
    assert np.allclose(template_points(150, 0.25), want, atol=1e-5)


def test_similarity_recovers_a_known_transform() -> None:
    src = template_points()
    ang, s, t = 0.3, 2.5, np.array([40.0, -7.0])
    m = s * np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    got_m, got_t = similarity_transform(src, src @ m.T + t)
    assert np.allclose(got_m, m) and np.allclose(got_t, t)
    d = get_face_chip_details(src @ m.T + t)
    assert d.angle == pytest.approx(ang) and (d.rows, d.cols) == (150, 150)
    # dlib's inclusive rectangle: 150*scale wide minus one pixel
    assert d.rect[2] - d.rect[0] == pytest.approx(150 * s - 1)


def test_pyramid_size_and_flat_image() -> None:
    img = np.full((41, 36, 3), 200, np.uint8)
    out = pyramid_down2(img)
    assert out.shape == (19, 16, 3)
    # [1 4 6 4 1]^2 sums to 256: a flat image stays flat (integer division is exact here)
    assert np.all(out == 200)
    assert pyramid_down2(np.zeros((8, 100, 3), np.uint8)).size == 0


def _smooth_image(seed: int, size: int = 400) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8).astype(np.float64)
    # bilinear-ish upsampling so that sub-pixel sampling differences stay small
    k = np.linspace(0, base.shape[0] - 1, size)
    i0 = np.floor(k).astype(int)
    i1 = np.minimum(i0 + 1, base.shape[0] - 1)
    f = (k - i0)[:, None, None]
    rows = base[i0] * (1 - f) + base[i1] * f
    f2 = (k - i0)[None, :, None]
    img = rows[:, i0] * (1 - f2) + rows[:, i1] * f2
    return img.astype(np.uint8)


# A small face (eye corners ~80 px apart): no pyramid level is needed.
SMALL_FACE = np.array([[250.0, 170.0], [222.0, 172.0], [168.0, 171.0], [190.0, 173.0], [208.0, 225.0]])


@pytest.mark.parametrize("points_scale", [1.0, 4.0])  # 4x: the Gaussian pyramid is used
def test_translation_gives_the_same_chip(points_scale: float) -> None:
    """Shifting image and points by whole pixels gives the same chip (pyramid included)."""
    size = int(400 * points_scale)
    img = _smooth_image(3, size)
    pts = SMALL_FACE * points_scale
    chip = face_chip(img, pts)
    assert chip.std() > 10  # real content, not a black chip
    dy, dx = 37, 21
    canvas = np.zeros((size + dy, size + dx, 3), np.uint8)
    canvas[dy:, dx:] = img
    moved = face_chip(canvas, pts + np.array([dx, dy], dtype=np.float64))
    diff = np.abs(chip.astype(int) - moved.astype(int))
    assert diff.max() <= 1
    assert np.mean(diff > 0) < 1e-3


def test_quarter_turn_gives_the_same_chip() -> None:
    """Rotating the image a quarter turn with its points leaves the chip (almost) unchanged."""
    img = _smooth_image(5)
    chip = face_chip(img, SMALL_FACE)
    assert chip.std() > 10
    rot = np.ascontiguousarray(np.rot90(img))  # counter-clockwise: (x, y) -> (y, W-1-x)
    w = img.shape[1]
    rpts = np.stack([SMALL_FACE[:, 1], (w - 1) - SMALL_FACE[:, 0]], axis=1)
    rchip = face_chip(rot, rpts)
    diff = np.abs(chip.astype(int) - rchip.astype(int))
    assert np.median(diff) <= 1
    assert np.mean(diff <= 2) > 0.99


@pytest.mark.parametrize(
    ("img", "pts"),
    [
        (np.zeros((100, 100), np.uint8), np.zeros((5, 2))),
        (np.zeros((100, 100, 3), np.float32), np.zeros((5, 2))),
        (np.zeros((100, 100, 3), np.uint8), np.zeros((68, 2))),
        (np.zeros((100, 100, 3), np.uint8), np.full((5, 2), np.nan)),
        (np.zeros((100, 100, 3), np.uint8), np.full((5, 2), 30.0)),
    ],
)
def test_bad_input_is_an_input_error(img: np.ndarray, pts: np.ndarray) -> None:
    with pytest.raises(InputError):
        face_chip(img, pts)


def test_face_outside_the_image_gives_black_chip() -> None:
    img = np.full((100, 100, 3), 255, np.uint8)
    pts = template_points() + 5000.0
    assert not face_chip(img, pts).any()
