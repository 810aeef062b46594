"""Face-capture quality gates: a pure check of one observation against the configured limits."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.config.face import CaptureGates
from kiosk.perception.types import FrameObservation


@dataclass(frozen=True)
class GateResult:
    """``ok``: every gate passed. ``hint``: the first failing gate as a UI hint code (None when ok)."""

    ok: bool
    hint: str | None
    face_count: int


def check_gates(obs: FrameObservation, gates: CaptureGates) -> GateResult:
    """Check the single face of ``obs``: size, sharpness, exposure, head pose, fully inside the frame.

    Order matters: the hint names the first thing the applicant should fix.
    """
    n = obs.face_count
    if n == 0:
        return GateResult(False, "face_not_found", 0)
    if n > 1:
        return GateResult(False, "one_person_only", n)
    face = obs.faces[0]
    x, y, w, h = face.box
    if x < 0 or y < 0 or x + w > obs.width or y + h > obs.height:
        return GateResult(False, "look_at_camera", 1)
    q = face.quality
    if q is None:
        return GateResult(False, "face_not_found", 1)
    if q.face_px < gates.min_face_px:
        return GateResult(False, "move_closer", 1)
    if min(w / obs.width, h / obs.height) > 0.9:
        return GateResult(False, "move_back", 1)
    if q.brightness < gates.min_brightness:
        return GateResult(False, "too_dark", 1)
    if q.brightness > gates.max_brightness:
        return GateResult(False, "too_bright", 1)
    if face.pose is not None and (
        abs(face.pose.yaw_deg) > gates.max_yaw_deg or abs(face.pose.pitch_deg) > gates.max_pitch_deg
    ):
        return GateResult(False, "look_at_camera", 1)
    if q.sharpness < gates.min_sharpness:
        return GateResult(False, "too_blurry", 1)
    return GateResult(True, None, 1)
