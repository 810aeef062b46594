"""Photo and replay defences that run beside the challenges.

* :class:`StaticPhotoMonitor` -- a face whose landmarks do not move over ``static_window_s`` (RMS
  motion below ``min_motion_px`` per 100 px of inter-ocular distance) is a photo on a stand.
  Measured on the genuine clips, the stillest real window (eyes held shut on a tripod) moves about
  0.5 px per 100 px IOD; a printed photo in front of a camera with sensor noise moves 0.26-0.49
  (docs/liveness.md).
* :class:`PlanarMonitor` -- once the face has visibly deformed in enough frames, compare the change a
  homography (one plane) cannot explain with the change a similarity transform cannot explain. A
  photo tilted, turned or bent slightly stays planar (ratio 0.26-0.42 on our photos under motion);
  a real head, with its nose and cheeks at different depths, is not (0.72-0.87 on every genuine
  clip). Below ``planar_residual_max`` the session fails with ``planar_motion``.
* :class:`ScreenMonitor` -- (optional, needs the frame) a straight-edged bright frame tightly around
  the face for ``bezel_min_s``: a phone or tablet screen, or the border of a print.

Turn and nod challenges also require parallax at their peak (see
:func:`kiosk.liveness.detectors.detect_challenge`).
"""

from __future__ import annotations

import logging
from collections import deque

import numpy as np

from kiosk.config.liveness import SpoofConfig
from kiosk.liveness.signals import FrameSignals

log = logging.getLogger(__name__)

# Every 4th FaceMesh point (120 of 478) is plenty for a motion RMS and 4x cheaper.
_STATIC_SUBSET = slice(0, None, 4)


class StaticPhotoMonitor:
    """Feed (t, landmarks (N, 2) px, IOD px) per frame with a face; :meth:`update` is True once the
    last ``static_window_s`` held no motion."""

    def __init__(self, cfg: SpoofConfig) -> None:
        self.cfg = cfg
        self._win: deque[tuple[float, np.ndarray, float]] = deque()
        self.min_motion_seen: float | None = None  # px per 100 px IOD, smallest full window so far

    def reset(self) -> None:
        self._win.clear()

    def update(self, t: float, landmarks_xy: np.ndarray | None, iod_px: float | None) -> bool:
        if landmarks_xy is None or not iod_px:
            self._win.clear()  # a gap restarts the window: stillness must be continuous
            return False
        self._win.append((t, np.asarray(landmarks_xy[_STATIC_SUBSET], dtype=np.float64), float(iod_px)))
        while self._win and t - self._win[0][0] > self.cfg.static_window_s:
            self._win.popleft()
        if len(self._win) < 5 or t - self._win[0][0] < 0.9 * self.cfg.static_window_s:
            return False
        stack = np.stack([p for _, p, _ in self._win])
        iod = float(np.median([d for _, _, d in self._win]))
        motion = float(np.sqrt(stack.var(axis=0).sum(axis=1).mean())) / iod * 100.0
        if self.min_motion_seen is None or motion < self.min_motion_seen:
            self.min_motion_seen = motion
        return motion < self.cfg.min_motion_px


class PlanarMonitor:
    """Feed :class:`FrameSignals` computed against the session's reference shape."""

    def __init__(self, cfg: SpoofConfig) -> None:
        self.cfg = cfg
        self.frames = 0
        self._sum_planar = 0.0
        self._sum_deform = 0.0

    @property
    def ratio(self) -> float | None:
        """Homography residual over similarity residual, summed over the deformed frames."""
        if self.frames == 0 or self._sum_deform <= 0:
            return None
        return self._sum_planar / self._sum_deform

    def update(self, sig: FrameSignals) -> bool:
        if sig.deform is None or sig.planar_residual is None or sig.deform < self.cfg.planar_deform_min:
            return False
        self.frames += 1
        self._sum_planar += sig.planar_residual
        self._sum_deform += sig.deform
        r = self.ratio
        return (
            self.frames >= self.cfg.planar_min_frames and r is not None and r < self.cfg.planar_residual_max
        )
