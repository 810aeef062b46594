"""Typed observations passed from perception to the session engine.

Coordinates are image pixels of the frame the observation came from (x right, y down), unless a
field says otherwise. Angles are degrees. Head pose follows MediaPipe's facial transformation
matrix: ``yaw_deg`` > 0 when the nose points to the image's RIGHT edge (see ``pose_from_matrix`` for all
three signs); the liveness detectors translate image directions into the applicant's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# MediaPipe FaceMesh indices for the five points that stand in for dlib's 5-point shape model,
# in dlib's order: image-right eye outer, inner; image-left eye outer, inner; below the nose.
FIVE_POINT_MESH_IDX: tuple[int, int, int, int, int] = (263, 362, 33, 133, 2)


@dataclass(frozen=True)
class Quality:
    """Simple image-quality signals of one face region.

    ``face_px``: the shorter side of the face box in pixels.
    ``sharpness``: variance of the Laplacian of the face region (grey, resized to 112 px tall).
    ``brightness``: mean grey level of the face region, 0..255.
    ``contrast``: standard deviation of the grey level of the face region.
    """

    face_px: float
    sharpness: float
    brightness: float
    contrast: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "face_px": round(self.face_px, 1),
            "sharpness": round(self.sharpness, 1),
            "brightness": round(self.brightness, 1),
            "contrast": round(self.contrast, 1),
        }


@dataclass(frozen=True)
class HeadPose:
    yaw_deg: float
    pitch_deg: float
    roll_deg: float


@dataclass(frozen=True)
class FaceObservation:
    """One face in one frame.

    ``box``: (x, y, w, h) in pixels. ``landmarks``: (478, 3) float32, x/y in pixels, z in MediaPipe's
    relative depth scaled by the image width. ``five_points``: (5, 2) in dlib's order
    (see :data:`FIVE_POINT_MESH_IDX`). ``blendshapes``: MediaPipe's 52 scores by name (0..1).
    ``transform``: the 4x4 facial transformation matrix (None when the model gave none).
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    five_points: np.ndarray
    blendshapes: dict[str, float] = field(default_factory=dict)
    pose: HeadPose | None = None
    transform: np.ndarray | None = None
    quality: Quality | None = None
    score: float = 1.0

    @property
    def area(self) -> float:
        return float(self.box[2] * self.box[3])


@dataclass(frozen=True)
class FrameObservation:
    """Everything perception saw in one frame. ``faces`` are sorted largest first."""

    timestamp_s: float
    width: int
    height: int
    faces: tuple[FaceObservation, ...] = ()

    @property
    def face_count(self) -> int:
        return len(self.faces)

    @property
    def primary(self) -> FaceObservation | None:
        return self.faces[0] if self.faces else None
