"""Identity continuity: exactly one face, tracked without long gaps or jumps, for the whole step.

A second face (seen ``second_face_min_s``), a face missing longer than ``max_track_gap_s`` (or
``max_turned_gap_s`` when it was last seen turned toward profile, where the landmarker drops real
faces: measured on ``anti_spoofing_zubair/real.mov``, a -56 deg turn loses the face for 1.7 s), or a
face box that jumps between frames (a swap of the person or photo in front of the camera) ends the
session with ``second_face``, ``face_lost`` or ``face_jump``. The identity itself is re-checked by
re-embedding samples in :class:`~kiosk.liveness.session.LivenessSession`.
"""

from __future__ import annotations

import logging
import math

from kiosk.config.liveness import ContinuityConfig
from kiosk.liveness.types import Reason
from kiosk.perception.types import FrameObservation

log = logging.getLogger(__name__)

# Per second of time between two frames, the face width may also change by this (abs. log ratio).
SCALE_SPEED_PER_S = 1.0


class ContinuityMonitor:
    """Feed every frame in order; :meth:`update` returns a :class:`Reason` once continuity breaks."""

    def __init__(self, cfg: ContinuityConfig) -> None:
        self.cfg = cfg
        self._last_t: float | None = None  # last frame with a face
        self._last_box: tuple[float, float, float, float] | None = None
        self._last_yaw: float | None = None
        self.reacquired = False  # True on the frame a face came back after a gap longer than max_track_gap_s
        self._multi_since: float | None = None
        self.max_jump_seen = 0.0  # largest jump ratio (jump / allowed), for the record
        self.max_faces_seen = 0

    def _allowed_gap(self) -> float:
        if self._last_yaw is not None and abs(self._last_yaw) >= self.cfg.profile_yaw_deg:
            return max(self.cfg.max_track_gap_s, self.cfg.max_turned_gap_s)
        return self.cfg.max_track_gap_s

    def update(self, obs: FrameObservation) -> Reason | None:
        t = obs.timestamp_s
        self.reacquired = False
        n = obs.face_count
        self.max_faces_seen = max(self.max_faces_seen, n)
        if n >= 2:
            if self._multi_since is None:
                self._multi_since = t
            if t - self._multi_since + 1e-9 >= self.cfg.second_face_min_s:
                return Reason.SECOND_FACE
        else:
            self._multi_since = None
        if n == 0:
            if self._last_t is not None and t - self._last_t > self._allowed_gap():
                return Reason.FACE_LOST
            return None
        face = obs.primary
        assert face is not None
        box = face.box
        if self._last_box is not None and self._last_t is not None:
            dt = max(0.0, t - self._last_t)
            if dt > self._allowed_gap():
                return Reason.FACE_LOST
            self.reacquired = dt > self.cfg.max_track_gap_s
            lx, ly, lw, lh = self._last_box
            x, y, w, h = box
            # Motion allowance grows with the time between the frames, but no further than one
            # ordinary gap: a face coming back from profile must come back where it left.
            dt_move = min(dt, self.cfg.max_track_gap_s)
            jump = math.hypot((x + w / 2) - (lx + lw / 2), (y + h / 2) - (ly + lh / 2)) / max(lw, 1.0)
            allowed = self.cfg.max_jump_fw + self.cfg.max_speed_fw_per_s * dt_move
            scale = abs(math.log(max(w, 1.0) / max(lw, 1.0)))
            allowed_scale = self.cfg.max_scale_jump + SCALE_SPEED_PER_S * dt_move
            self.max_jump_seen = max(self.max_jump_seen, jump / allowed, scale / allowed_scale)
            if jump > allowed or scale > allowed_scale:
                log.info("face jumped %.2f face widths (allowed %.2f), scale %.2f", jump, allowed, scale)
                return Reason.FACE_JUMP
        self._last_t, self._last_box = t, box
        self._last_yaw = face.pose.yaw_deg if face.pose is not None else None
        return None
