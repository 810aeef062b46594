"""Small image operations the sources share: BGR->RGB, fitting into a frame size, cropping.

All take and return HxWx3 uint8 arrays; sizes are (width, height) in pixels.
"""

from __future__ import annotations

import numpy as np


def bgr_to_rgb(bgr: np.ndarray) -> np.ndarray:
    """OpenCV's BGR (or BGRA / grey) to a contiguous RGB uint8 array."""
    import cv2

    if bgr.ndim == 2:
        return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    if bgr.shape[2] == 4:
        return cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def fit_size(src_w: int, src_h: int, max_w: int, max_h: int) -> tuple[int, int]:
    """The largest (w, h) with the source aspect inside max_w x max_h; never larger than the source."""
    scale = min(1.0, max_w / src_w, max_h / src_h)
    return max(1, round(src_w * scale)), max(1, round(src_h * scale))


def resize(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize to width x height. Large reductions halve first (INTER_AREA's fast exact-2x path) and
    finish with INTER_LINEAR: close to INTER_AREA's quality at a fraction of its cost for odd ratios
    (1080p -> 480p: about 1.5 ms instead of 10 ms)."""
    import cv2

    h, w = img.shape[:2]
    if (w, h) == (width, height):
        return img
    while w >= 2 * width and h >= 2 * height:
        w, h = w // 2, h // 2
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    if (w, h) == (width, height):
        return img
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)


def downscale_to_fit(rgb: np.ndarray, max_w: int, max_h: int) -> np.ndarray:
    """Shrink ``rgb`` (area interpolation) to fit max_w x max_h, keeping the aspect; never upscales."""
    h, w = rgb.shape[:2]
    tw, th = fit_size(w, h, max_w, max_h)
    return resize(rgb, tw, th)


def crop_normalized(rgb: np.ndarray, roi: tuple[float, float, float, float] | None) -> np.ndarray:
    """Crop by a region given as fractions (x, y, w, h) of the image; None keeps the whole image."""
    if roi is None:
        return rgb
    h, w = rgb.shape[:2]
    x0 = round(roi[0] * w)
    y0 = round(roi[1] * h)
    x1 = min(w, max(x0 + 1, round((roi[0] + roi[2]) * w)))
    y1 = min(h, max(y0 + 1, round((roi[1] + roi[3]) * h)))
    return rgb[y0:y1, x0:x1]


def place_on_canvas(rgb: np.ndarray, width: int, height: int, fit: str = "cover") -> np.ndarray:
    """Scale ``rgb`` onto a width x height canvas, as a camera of that size would frame it.

    ``cover``: fill the canvas and crop the overflow evenly (no bars; a camera's view).
    ``contain``: fit inside and pad with black bars (nothing lost).
    """
    h, w = rgb.shape[:2]
    if (w, h) == (width, height):
        return np.ascontiguousarray(rgb)
    if fit == "cover":
        scale = max(width / w, height / h)
    elif fit == "contain":
        scale = min(width / w, height / h)
    else:
        raise ValueError(f"unknown fit {fit!r} (cover or contain)")
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    scaled = resize(rgb, sw, sh)
    if fit == "cover":
        x0, y0 = (sw - width) // 2, (sh - height) // 2
        return np.ascontiguousarray(scaled[y0 : y0 + height, x0 : x0 + width])
    canvas = np.zeros((height, width, 3), np.uint8)
    x0, y0 = (width - sw) // 2, (height - sh) // 2
    canvas[y0 : y0 + sh, x0 : x0 + sw] = scaled
    return canvas
