"""Image-quality signals for a face region: size, sharpness, exposure. Pure numpy/OpenCV."""

from __future__ import annotations

import numpy as np

from kiosk.perception.types import Quality


def face_quality(rgb: np.ndarray, box: tuple[float, float, float, float]) -> Quality:
    """Quality of the face in ``box`` (x, y, w, h pixels) of an RGB uint8 image.

    Sharpness is the variance of the Laplacian after resizing the crop to 112 px tall, so it does
    not grow with resolution; brightness and contrast are the mean and std of grey levels (0..255).
    """
    import cv2

    h_img, w_img = rgb.shape[:2]
    x, y, w, h = box
    x0, y0 = max(0, int(x)), max(0, int(y))
    x1, y1 = min(w_img, round(x + w)), min(h_img, round(y + h))
    face_px = float(min(w, h))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return Quality(face_px=face_px, sharpness=0.0, brightness=0.0, contrast=0.0)
    crop = rgb[y0:y1, x0:x1]
    grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    scale = 112.0 / grey.shape[0]
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    grey = cv2.resize(grey, (max(4, round(grey.shape[1] * scale)), 112), interpolation=interp)
    sharp = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    return Quality(
        face_px=face_px,
        sharpness=sharp,
        brightness=float(grey.mean()),
        contrast=float(grey.std()),
    )
