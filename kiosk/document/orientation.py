"""Which way is up for a portrait: a second opinion from OpenCV's Haar frontal-face cascade.

MediaPipe finds upside-down faces but fits its mesh upright onto them (eyes on the mouth), so the
eye line alone cannot tell a document turned 180 degrees. The Haar cascade (shipped inside the
OpenCV wheel, ``cv2.data.haarcascades``) only fires on upright faces, so it is run on the face
region turned by each quarter-turn: the turn where it fires is up. When it fires nowhere (small,
pale or guilloched portraits), the caller keeps the mesh's own estimate.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

_CASCADE_FILE = "haarcascade_frontalface_alt2.xml"
_lock = threading.Lock()
_cascade: Any = None


def _get_cascade() -> Any:
    global _cascade
    import cv2

    with _lock:
        if _cascade is None:
            base = getattr(getattr(cv2, "data", None), "haarcascades", None)
            c = cv2.CascadeClassifier(str(base) + _CASCADE_FILE) if base else None
            _cascade = c if c is not None and not c.empty() else False
            if _cascade is False:
                log.warning("OpenCV's Haar face cascade is not available; upside-down check disabled")
        return _cascade


def upright_votes(rgb: np.ndarray, box: tuple[float, float, float, float]) -> dict[int, int]:
    """Haar detections on the region around ``box`` turned by k quarter-turns counter-clockwise,
    for k = 0..3. Empty when the cascade is unavailable."""
    import cv2

    cascade = _get_cascade()
    if cascade is False:
        return {}
    h, w = rgb.shape[:2]
    x, y, bw, bh = box
    side = 1.8 * max(bw, bh)
    cx, cy = x + bw / 2, y + bh / 2
    x0, y0 = max(0, int(cx - side / 2)), max(0, int(cy - side / 2))
    x1, y1 = min(w, int(cx + side / 2)), min(h, int(cy + side / 2))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return {}
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    scale = 160.0 / max(grey.shape)
    grey = cv2.resize(
        grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    )
    grey = cv2.equalizeHist(grey)
    votes: dict[int, int] = {}
    for k in range(4):
        g = np.ascontiguousarray(np.rot90(grey, k))
        found = cascade.detectMultiScale(g, scaleFactor=1.1, minNeighbors=3, minSize=(40, 40))
        votes[k] = len(found)
    return votes


def haar_quarter_turns(rgb: np.ndarray, box: tuple[float, float, float, float]) -> int | None:
    """Quarter-turns (counter-clockwise) that make the face in ``box`` upright by the cascade's
    vote, or None when the vote is empty or tied (the cascade does not decide)."""
    votes = upright_votes(rgb, box)
    if not votes:
        return None
    best = max(votes.values())
    winners = [k for k, v in votes.items() if v == best]
    if best == 0 or len(winners) != 1:
        return None
    return winners[0]
