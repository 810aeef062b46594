"""MediaPipe Tasks FaceLandmarker behind a small typed interface.

IMAGE mode serves still pictures (ID portraits, uploads); VIDEO mode serves camera frames and
takes the caller's timestamps, which must strictly increase. mediapipe is imported only when a
landmarker is built.
"""

from __future__ import annotations

import atexit
import contextlib
import enum
import logging
import math
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.errors import ModelError
from kiosk.perception.quality import face_quality
from kiosk.perception.types import FIVE_POINT_MESH_IDX, FaceObservation, FrameObservation, HeadPose

log = logging.getLogger(__name__)


class RunningMode(enum.Enum):
    IMAGE = "image"
    VIDEO = "video"


@dataclass(frozen=True)
class LandmarkerOptions:
    """Options for :class:`FaceLandmarker`.

    ``max_faces`` is how many faces the model may report; keep it above 1 so a second person is
    seen, not hidden. Confidences are MediaPipe's, 0..1.
    """

    model_path: Path
    mode: RunningMode = RunningMode.VIDEO
    max_faces: int = 3
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    blendshapes: bool = True
    transform: bool = True


def pose_from_matrix(m: np.ndarray) -> HeadPose:
    """Yaw, pitch, roll in degrees from MediaPipe's 4x4 facial transformation matrix.

    Conventions, in terms of the image the landmarker saw (camera looking at the person):

    * ``yaw > 0``: the nose points toward the image's RIGHT edge. In a non-mirrored camera image
      that is the person turning to their own LEFT.
    * ``pitch > 0``: the chin goes up (head tilted back); ``< 0``: looking down.
    * ``roll > 0``: the head tilts clockwise in the image (the eye on the image's right is lower).

    Verified on real footage (see docs/liveness.md): ``headpose_sample.gif`` (nose to image-right
    0.5-1.4 s gives yaw +34..+39; head up 3.4-4.2 s gives pitch +37..+41; the clip's own overlay
    shows roll +33 at 6.5 s where we give +31..+36 and the eye line tilts clockwise) and
    ``webcam_krzysiek/real.mp4`` (nose to image-right 2.4-3.2 s: yaw +26..+28; image-left
    3.4-4.1 s: yaw -23..-30; chin up 4.4-5.5 s: pitch +24..+41).
    """
    r = np.asarray(m, dtype=np.float64)[:3, :3]
    sy = math.hypot(r[0, 0], r[1, 0])
    pitch = math.degrees(math.atan2(r[2, 1], r[2, 2]))
    yaw = math.degrees(math.atan2(-r[2, 0], sy))
    roll = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    # MediaPipe's matrix is right-handed with y up; image y points down, so pitch and roll flip.
    return HeadPose(yaw_deg=yaw, pitch_deg=-pitch, roll_deg=-roll)


_OPEN: weakref.WeakSet[FaceLandmarker] = weakref.WeakSet()


@atexit.register
def _close_open_landmarkers() -> None:
    # MediaPipe's own finaliser fails once the interpreter is tearing down ("NoneType is not
    # callable"); closing every landmarker still open while modules are alive avoids that noise.
    for lm in list(_OPEN):
        with contextlib.suppress(Exception):
            lm.close()


class FaceLandmarker:
    """Thread-safe wrapper: one MediaPipe landmarker, one mode.

    Use :meth:`detect` for IMAGE mode and :meth:`detect_video` for VIDEO mode.
    """

    def __init__(self, options: LandmarkerOptions) -> None:
        self.options = options
        path = Path(options.model_path)
        if not path.is_file():
            raise ModelError(f"face landmarker model not found: {path}")
        try:
            from mediapipe.tasks.python import BaseOptions, vision
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelError(f"mediapipe is not installed: {exc}") from exc
        mode = vision.RunningMode.IMAGE if options.mode is RunningMode.IMAGE else vision.RunningMode.VIDEO
        mp_opts = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=path.read_bytes()),
            running_mode=mode,
            num_faces=options.max_faces,
            min_face_detection_confidence=options.min_detection_confidence,
            min_face_presence_confidence=options.min_presence_confidence,
            min_tracking_confidence=options.min_tracking_confidence,
            output_face_blendshapes=options.blendshapes,
            output_facial_transformation_matrixes=options.transform,
        )
        self._impl = vision.FaceLandmarker.create_from_options(mp_opts)
        self._lock = threading.Lock()
        self._last_ts_ms = -1
        _OPEN.add(self)

    def close(self) -> None:
        impl, self._impl = getattr(self, "_impl", None), None
        if impl is not None:
            impl.close()

    def __enter__(self) -> FaceLandmarker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # MediaPipe's own __del__ fails at interpreter exit; close early.
        try:  # noqa: SIM105 - plain try: contextlib may already be torn down at exit
            self.close()
        except Exception:  # nothing sensible to do during teardown
            pass

    @staticmethod
    def _mp_image(rgb: np.ndarray):  # type: ignore[no-untyped-def]
        import mediapipe as mp

        return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb, dtype=np.uint8))

    def detect(self, rgb: np.ndarray, timestamp_s: float = 0.0) -> FrameObservation:
        """Landmarks of every face in a still RGB uint8 image (IMAGE mode)."""
        if self.options.mode is not RunningMode.IMAGE:
            raise RuntimeError("detect() needs an IMAGE-mode landmarker")
        if self._impl is None:
            raise RuntimeError("landmarker is closed")
        with self._lock:
            result = self._impl.detect(self._mp_image(rgb))
        return self._convert(result, rgb, timestamp_s)

    def detect_video(self, rgb: np.ndarray, timestamp_s: float) -> FrameObservation:
        """Landmarks for one video frame (VIDEO mode). ``timestamp_s`` must increase; a frame whose
        millisecond timestamp does not is given the next millisecond (MediaPipe rejects repeats)."""
        if self.options.mode is not RunningMode.VIDEO:
            raise RuntimeError("detect_video() needs a VIDEO-mode landmarker")
        if self._impl is None:
            raise RuntimeError("landmarker is closed")
        ts_ms = round(timestamp_s * 1000.0)
        with self._lock:
            if ts_ms <= self._last_ts_ms:
                ts_ms = self._last_ts_ms + 1
            self._last_ts_ms = ts_ms
            result = self._impl.detect_for_video(self._mp_image(rgb), ts_ms)
        return self._convert(result, rgb, timestamp_s)

    def _convert(self, result, rgb: np.ndarray, timestamp_s: float) -> FrameObservation:  # type: ignore[no-untyped-def]
        h, w = rgb.shape[:2]
        faces: list[FaceObservation] = []
        for i, lms in enumerate(result.face_landmarks):
            pts = np.array([(p.x * w, p.y * h, p.z * w) for p in lms], dtype=np.float32)
            x0, y0 = float(pts[:, 0].min()), float(pts[:, 1].min())
            x1, y1 = float(pts[:, 0].max()), float(pts[:, 1].max())
            box = (x0, y0, x1 - x0, y1 - y0)
            blend: dict[str, float] = {}
            if result.face_blendshapes and i < len(result.face_blendshapes):
                blend = {c.category_name: float(c.score) for c in result.face_blendshapes[i]}
            transform = None
            pose = None
            mats = result.facial_transformation_matrixes
            if mats and i < len(mats):
                transform = np.asarray(mats[i], dtype=np.float32)
                pose = pose_from_matrix(transform)
            faces.append(
                FaceObservation(
                    box=box,
                    landmarks=pts,
                    five_points=pts[list(FIVE_POINT_MESH_IDX), :2].copy(),
                    blendshapes=blend,
                    pose=pose,
                    transform=transform,
                    quality=face_quality(rgb, box),
                )
            )
        faces.sort(key=lambda f: f.area, reverse=True)
        return FrameObservation(timestamp_s=timestamp_s, width=w, height=h, faces=tuple(faces))
