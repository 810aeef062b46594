"""Per-frame liveness signals from a :class:`~kiosk.perception.types.FrameObservation`.

Everything is computed from the largest face. Units:

* ``ear``: eye aspect ratio (mean of both eyes), the classic (|p2-p6|+|p3-p5|)/(2|p1-p4|) on the
  FaceMesh eye contour; about 0.25-0.35 open and below 0.1 shut.
* ``eye_open``: the EAR of the MORE open eye divided by the face's own vertical/horizontal aspect
  (eye-line-to-nose height over inter-ocular distance). Foreshortening scales eye height and face
  height alike, so a photo tilted back does not look like closed eyes; a real eyelid closure does.
  Taking the more open eye means both eyes must close: a wink is not a blink.
* ``eye_blink``: mean of the ``eyeBlinkLeft``/``eyeBlinkRight`` blendshapes (0 open .. 1 shut).
* ``smile``: mean of ``mouthSmileLeft``/``mouthSmileRight``; ``jaw_open``: ``jawOpen`` (0..1).
* ``mouth_gap``: inner-lip gap over mouth width (0 closed, ~0.5+ wide open).
* ``yaw_deg``/``pitch_deg``/``roll_deg``: head pose in image terms (see
  :func:`kiosk.perception.landmarker.pose_from_matrix`: yaw > 0 = nose toward the image's right).
* ``cx``/``cy``/``face_w``: face box centre and width in pixels; ``iod_px``: distance between the
  outer eye corners in pixels.
* ``planar_residual``/``deform``: only when a reference shape is given. Both compare all 478
  landmarks of this frame with the reference frame's, in units of the inter-ocular distance:
  ``deform`` is the RMS left after the best similarity transform (shift, scale, in-plane rotation),
  i.e. how much the face's 2-D shape changed; ``planar_residual`` is the RMS left after the best
  homography, i.e. the part of that change ONE PLANE cannot explain (3-D parallax or expression).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from kiosk.perception.types import FaceObservation, FrameObservation

log = logging.getLogger(__name__)

# FaceMesh eye contours as p1..p6: outer corner, upper lid x2, inner corner, lower lid x2.
EYE_IMAGE_LEFT: tuple[int, ...] = (33, 160, 158, 133, 153, 144)
EYE_IMAGE_RIGHT: tuple[int, ...] = (263, 387, 385, 362, 380, 373)
EYE_OUTER = (33, 263)
SUBNASALE = 2
MOUTH_CORNERS = (61, 291)
INNER_LIPS = (13, 14)


@dataclass(frozen=True)
class FrameSignals:
    """Signals of one frame (see the module docstring for units). Face fields are None without a face."""

    t_s: float
    face_count: int
    ear: float | None = None
    eye_open: float | None = None
    eye_blink: float | None = None
    smile: float | None = None
    jaw_open: float | None = None
    mouth_gap: float | None = None
    yaw_deg: float | None = None
    pitch_deg: float | None = None
    roll_deg: float | None = None
    cx: float | None = None
    cy: float | None = None
    face_w: float | None = None
    iod_px: float | None = None
    planar_residual: float | None = None
    deform: float | None = None

    @property
    def has_face(self) -> bool:
        return self.face_count > 0 and self.eye_open is not None

    def as_dict(self) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = {"t_s": round(self.t_s, 3), "faces": self.face_count}
        for name in (
            "ear",
            "eye_open",
            "eye_blink",
            "smile",
            "jaw_open",
            "mouth_gap",
            "yaw_deg",
            "pitch_deg",
            "roll_deg",
            "planar_residual",
            "deform",
        ):
            v = getattr(self, name)
            out[name] = None if v is None else round(float(v), 4)
        return out


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(math.hypot(float(a[0] - b[0]), float(a[1] - b[1])))


def eye_aspect_ratio(lm: np.ndarray, idx: tuple[int, ...]) -> float:
    """EAR of one eye from (N, 2+) landmark pixels; 0 when the eye has no width."""
    p = [lm[i, :2] for i in idx]
    h = _dist(p[0], p[3])
    if h <= 1e-6:
        return 0.0
    return (_dist(p[1], p[5]) + _dist(p[2], p[4])) / (2.0 * h)


def similarity_residual(ref: np.ndarray, cur: np.ndarray) -> float:
    """RMS distance (pixels) left after the least-squares similarity transform ref -> cur."""
    a = ref - ref.mean(axis=0)
    b = cur - cur.mean(axis=0)
    za = a[:, 0] + 1j * a[:, 1]
    zb = b[:, 0] + 1j * b[:, 1]
    den = float(np.vdot(za, za).real)
    if den <= 1e-9:
        return 0.0
    c = np.vdot(za, zb) / den  # scale * rotation as one complex number
    r = zb - c * za
    return float(np.sqrt(np.mean(np.abs(r) ** 2)))


def homography_residual(ref: np.ndarray, cur: np.ndarray) -> float:
    """RMS distance (pixels) left after the least-squares homography ref -> cur (inf if degenerate)."""
    import cv2

    a = np.ascontiguousarray(ref, dtype=np.float64)
    b = np.ascontiguousarray(cur, dtype=np.float64)
    h, _ = cv2.findHomography(a, b, 0)
    if h is None:
        return float("inf")
    p = cv2.perspectiveTransform(a.reshape(-1, 1, 2), h).reshape(-1, 2)
    return float(np.sqrt(np.mean(np.sum((p - b) ** 2, axis=1))))


def shape_change(ref: np.ndarray, cur: np.ndarray, iod_px: float) -> tuple[float, float]:
    """(planar_residual, deform) of landmarks ``cur`` against ``ref`` (both (N, 2) pixels), in IOD units."""
    if iod_px <= 1e-6:
        return 0.0, 0.0
    return homography_residual(ref, cur) / iod_px, similarity_residual(ref, cur) / iod_px


def face_signals(face: FaceObservation) -> dict[str, float]:
    """The reference-free signals of one face (helper of :func:`compute_signals`)."""
    lm = face.landmarks
    ear_l = eye_aspect_ratio(lm, EYE_IMAGE_LEFT)
    ear_r = eye_aspect_ratio(lm, EYE_IMAGE_RIGHT)
    ear = 0.5 * (ear_l + ear_r)
    iod = _dist(lm[EYE_OUTER[0], :2], lm[EYE_OUTER[1], :2])
    eye_mid = 0.5 * (lm[EYE_OUTER[0], :2] + lm[EYE_OUTER[1], :2])
    height = _dist(eye_mid, lm[SUBNASALE, :2])
    aspect = height / iod if iod > 1e-6 else 0.0
    eye_open = max(ear_l, ear_r) / aspect if aspect > 1e-6 else 0.0  # both eyes must close
    mw = _dist(lm[MOUTH_CORNERS[0], :2], lm[MOUTH_CORNERS[1], :2])
    gap = _dist(lm[INNER_LIPS[0], :2], lm[INNER_LIPS[1], :2])
    bs = face.blendshapes
    x, y, w, h = face.box
    out = {
        "ear": ear,
        "eye_open": eye_open,
        "eye_blink": 0.5 * (bs.get("eyeBlinkLeft", 0.0) + bs.get("eyeBlinkRight", 0.0)),
        "smile": 0.5 * (bs.get("mouthSmileLeft", 0.0) + bs.get("mouthSmileRight", 0.0)),
        "jaw_open": bs.get("jawOpen", 0.0),
        "mouth_gap": gap / mw if mw > 1e-6 else 0.0,
        "cx": x + w / 2.0,
        "cy": y + h / 2.0,
        "face_w": w,
        "iod_px": iod,
    }
    if face.pose is not None:
        out["yaw_deg"] = face.pose.yaw_deg
        out["pitch_deg"] = face.pose.pitch_deg
        out["roll_deg"] = face.pose.roll_deg
    return out


def compute_signals(obs: FrameObservation, reference: np.ndarray | None = None) -> FrameSignals:
    """Signals of the largest face in ``obs``; ``reference`` (478, 2) landmark pixels of a neutral
    frame of the same session adds ``planar_residual`` and ``deform``."""
    face = obs.primary
    if face is None:
        return FrameSignals(t_s=obs.timestamp_s, face_count=0)
    vals = face_signals(face)
    pr = de = None
    if reference is not None and reference.shape[0] == face.landmarks.shape[0]:
        pr, de = shape_change(reference, face.landmarks[:, :2], vals["iod_px"])
    return FrameSignals(
        t_s=obs.timestamp_s,
        face_count=obs.face_count,
        planar_residual=pr,
        deform=de,
        **vals,
    )
