"""Still-image face detection that also finds small faces (ID portraits, uploads, selfies, LFW crops).

MediaPipe's FaceLandmarker runs BlazeFace *short-range* on the whole picture squeezed to 128x128,
so a face smaller than roughly a sixth of the image side is missed: a 90 px portrait on a 600 px
passport scan is a coin toss. :class:`StillFaceDetector` keeps the same model and adds:

1. a full-image pass;
2. a tile pyramid: square tiles of decreasing side with 40 % overlap, each tile small enough that a
   face of the size we look for fills a good part of the detector's input (tiles are upscaled to at
   least ``tile_min_input_px`` so the landmark model gets pixels to work with);
3. a refinement pass: every candidate is re-detected on a square crop centred on it, about
   ``refine_context`` times the face size, which gives well-framed landmarks; a candidate that only
   a tile saw must also be found on a wider crop (``confirm_context``), which drops one-off
   detections that do not survive re-framing (guilloche patterns, text, a frontal dog);
4. non-maximum suppression on box IoU so a face seen by several tiles is reported once.

Landmarks come back in the original image's pixels. The smallest face found reliably is about
``min_face_px`` = 24 px (shorter side of the landmark box) on pictures up to about 2000 px; smaller
faces are sometimes found, never promised (see ``tests/test_detect_*``). Pictures larger than
``max_side_px`` are searched on a downscaled copy, so the smallest face there scales accordingly.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from kiosk.perception.landmarker import FaceLandmarker, LandmarkerOptions, RunningMode
from kiosk.perception.quality import face_quality
from kiosk.perception.types import FIVE_POINT_MESH_IDX, FaceObservation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetectorOptions:
    """Options for :class:`StillFaceDetector`.

    ``model_path``: the face_landmarker.task file; None takes the manifest's ``face_landmarker``
    after its sha256 check. ``min_face_px``: the smallest face (shorter side of the landmark box,
    pixels of the original image) the tile pyramid is built to find; raising it (e.g. 60 for LFW
    250x250 crops) makes detection cheaper. ``max_faces``: faces reported at most (largest first).
    ``tiles``: run the tile pyramid; ``max_tile_calls``: landmarker calls spent on tiles at most.
    ``rotations``: when nothing is found upright, also search the image turned 90, 270 and 180
    degrees (cards held sideways; the landmarks are mapped back to the original image).
    ``relative_min_face``: after the whole-image pass, the tile pyramid stops at faces this fraction
    of the largest face found there (shorter sides); 0 searches down to ``min_face_px`` always. A
    selfie only cares about faces big enough to be a second person, so it need not look for tiny ones.
    Confidences are MediaPipe's, 0..1; ``nms_iou`` merges boxes overlapping more than this.
    """

    model_path: Path | None = None
    min_face_px: int = 24
    max_faces: int = 8
    tiles: bool = True
    max_tile_calls: int = 48
    rotations: bool = False
    relative_min_face: float = 0.0
    max_side_px: int = 2000
    tile_min_input_px: int = 256
    refine_context: float = 2.6
    confirm_context: float = 5.0
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    nms_iou: float = 0.3


@dataclass(frozen=True)
class _Candidate:
    landmarks: np.ndarray  # (478, 3) in working-image pixels
    box: tuple[float, float, float, float]
    fill: float  # face size / crop size of the pass that saw it (how well framed)
    cut: bool  # touches an interior edge of its crop (probably a partial face)
    whole: bool = False  # seen by the whole-image pass
    refined: bool = False


def _box_of(pts: np.ndarray) -> tuple[float, float, float, float]:
    x0, y0 = float(pts[:, 0].min()), float(pts[:, 1].min())
    x1, y1 = float(pts[:, 0].max()), float(pts[:, 1].max())
    return (x0, y0, x1 - x0, y1 - y0)


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax1, ay1 = a[0] + a[2], a[1] + a[3]
    bx1, by1 = b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _overlap_small(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over the smaller box's area (catches a partial face inside a whole one)."""
    ax1, ay1 = a[0] + a[2], a[1] + a[3]
    bx1, by1 = b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    small = min(a[2] * a[3], b[2] * b[3])
    return iw * ih / small if small > 0 else 0.0


def tile_grid(width: int, height: int, side: int, overlap: float = 0.4) -> list[tuple[int, int, int, int]]:
    """Square tiles (x, y, w, h) of ``side`` px covering a width x height image, ``overlap`` shared."""
    side = max(1, min(side, width, height))
    stride = max(1, round(side * (1.0 - overlap)))

    def starts(total: int) -> list[int]:
        if total <= side:
            return [0]
        n = math.ceil((total - side) / stride) + 1
        step = (total - side) / (n - 1)
        return [round(i * step) for i in range(n)]

    return [(x, y, side, side) for y in starts(height) for x in starts(width)]


class StillFaceDetector:
    """Faces in still RGB images, largest first, small ones included. Not thread-safe per call order,
    but the underlying landmarker serialises calls, so sharing one instance between threads is safe."""

    def __init__(self, options: DetectorOptions | None = None) -> None:
        self.options = options or DetectorOptions()
        path = self.options.model_path
        if path is None:
            from kiosk.models import verified_model_path

            path = verified_model_path("face_landmarker")
        self._lm = FaceLandmarker(
            LandmarkerOptions(
                model_path=Path(path),
                mode=RunningMode.IMAGE,
                max_faces=4,
                min_detection_confidence=self.options.min_detection_confidence,
                min_presence_confidence=self.options.min_presence_confidence,
                blendshapes=False,
                transform=True,
            )
        )
        self.calls = 0  # landmarker calls made by the last detect(), for logs and benchmarks

    def close(self) -> None:
        lm = getattr(self, "_lm", None)
        if lm is not None:
            lm.close()

    def __enter__(self) -> StillFaceDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -----------------------------------------------------------------------------------------

    def detect(self, rgb: np.ndarray, *, min_face_px: int | None = None) -> list[FaceObservation]:
        """Every face in ``rgb`` (HxWx3 uint8 RGB), largest first, in ``rgb``'s pixel coordinates.

        ``min_face_px`` overrides the option for this call. Landmarks are (478, 3) float32 with z in
        MediaPipe's relative depth scaled like x; ``quality`` is measured on ``rgb``.
        """
        import cv2

        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError("detect() needs an HxWx3 uint8 RGB image")
        self.calls = 0
        h, w = rgb.shape[:2]
        scale = min(1.0, self.options.max_side_px / max(h, w))
        work = rgb
        if scale < 1.0:
            work = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        min_px = (min_face_px if min_face_px is not None else self.options.min_face_px) * scale
        cands = self._search(work, max(8.0, min_px))
        if not cands and self.options.rotations:
            for k in (1, 3, 2):  # 90 ccw, 90 cw, 180
                turned = np.ascontiguousarray(np.rot90(work, k))
                found = self._search(turned, max(8.0, min_px))
                if found:
                    cands = [self._unrotate(c, k, work.shape[1], work.shape[0]) for c in found]
                    break
        faces = [self._observation(rgb, c, scale) for c in cands]
        faces.sort(key=lambda f: f.area, reverse=True)
        log.debug("still detector: %d face(s), %d landmarker calls", len(faces), self.calls)
        return faces[: self.options.max_faces]

    # -----------------------------------------------------------------------------------------

    def _run(self, img: np.ndarray, region: tuple[int, int, int, int]) -> list[_Candidate]:
        """Landmarker on one region of ``img``; results in ``img`` coordinates."""
        import cv2

        x, y, rw, rh = region
        crop = img[y : y + rh, x : x + rw]
        up = max(1.0, self.options.tile_min_input_px / max(rw, rh))
        if up > 1.0:
            crop = cv2.resize(crop, (round(rw * up), round(rh * up)), interpolation=cv2.INTER_CUBIC)
        self.calls += 1
        obs = self._lm.detect(np.ascontiguousarray(crop))
        out: list[_Candidate] = []
        H, W = img.shape[:2]
        for f in obs.faces:
            pts = f.landmarks.astype(np.float32).copy()
            pts[:, :3] /= up
            pts[:, 0] += x
            pts[:, 1] += y
            box = _box_of(pts)
            size = min(box[2], box[3])
            if size < 4:
                continue
            edge = 0.02 * max(rw, rh)
            cut = (
                (x > 0 and box[0] - x < edge)
                or (y > 0 and box[1] - y < edge)
                or (x + rw < W and x + rw - (box[0] + box[2]) < edge)
                or (y + rh < H and y + rh - (box[1] + box[3]) < edge)
            )
            whole = rw == W and rh == H
            out.append(_Candidate(pts, box, max(box[2], box[3]) / max(rw, rh), bool(cut), whole=whole))
        return out

    def _search(self, img: np.ndarray, min_px: float) -> list[_Candidate]:
        H, W = img.shape[:2]
        found = self._run(img, (0, 0, W, H))
        if self.options.relative_min_face > 0 and found:
            largest = max(min(c.box[2], c.box[3]) for c in found)
            min_px = max(min_px, self.options.relative_min_face * largest)
        if self.options.tiles:
            budget = self.options.max_tile_calls
            # A tile of side T serves faces of about 0.18..0.45 T; stop at the tile that serves min_px.
            smallest = max(48, int(min_px / 0.28))
            side = int(min(W, H) * 0.62)
            while side >= smallest and budget > 0:
                grid = tile_grid(W, H, side)
                if len(grid) > budget:
                    break
                for region in grid:
                    found.extend(self._run(img, region))
                budget -= len(grid)
                side = int(side * 0.62)
        merged = self._nms(found)
        return self._refine(img, merged)

    def _nms(self, cands: list[_Candidate]) -> list[_Candidate]:
        # Best first: whole faces, refined, then well-framed (fill near 0.3), then larger.
        def rank(c: _Candidate) -> tuple[int, int, float]:
            return (int(c.cut), int(not c.refined), abs(math.log(max(c.fill, 1e-3) / 0.3)))

        kept: list[_Candidate] = []
        for c in sorted(cands, key=rank):
            if any(
                box_iou(c.box, k.box) > self.options.nms_iou or _overlap_small(c.box, k.box) > 0.7
                for k in kept
            ):
                continue
            kept.append(c)
        return kept

    def _crop_around(self, c: _Candidate, context: float, W: int, H: int) -> tuple[int, int, int, int]:
        """Square region ``context`` times the face size, centred on it, clamped inside the image."""
        x, y, bw, bh = c.box
        side = max(16, min(round(max(bw, bh) * context), W, H))
        cx, cy = x + bw / 2, y + bh / 2
        x0 = round(min(max(0.0, cx - side / 2), W - side))
        y0 = round(min(max(0.0, cy - side / 2), H - side))
        return (x0, y0, side, side)

    def _found_in(
        self, img: np.ndarray, region: tuple[int, int, int, int], c: _Candidate
    ) -> list[_Candidate]:
        return [a for a in self._run(img, region) if box_iou(a.box, c.box) > 0.3]

    def _refine(self, img: np.ndarray, cands: list[_Candidate]) -> list[_Candidate]:
        """Re-detect each candidate on a square crop centred on it (well-framed landmarks). A candidate
        only a tile saw must also be found on a wider crop (``confirm_context``): a real face is found
        at both framings, a face-like pattern (a dog, a guilloche swirl) rarely is."""
        H, W = img.shape[:2]
        out: list[_Candidate] = []
        for c in cands:
            region = self._crop_around(c, self.options.refine_context, W, H)
            if c.whole and region[2] >= 0.9 * max(W, H):
                out.append(replace(c, refined=True))  # the crop would be the whole image again
                continue
            again = self._found_in(img, region, c)
            if again:
                best = max(again, key=lambda a: box_iou(a.box, c.box))
                if not c.whole:
                    wide = self._crop_around(best, self.options.confirm_context, W, H)
                    if wide[2] < 0.9 * max(W, H) and not self._found_in(img, wide, best):
                        log.debug("candidate dropped: not found again on a wider crop")
                        continue
                out.append(replace(best, refined=True, cut=False))
            elif c.whole:
                out.append(c)  # seen on the whole picture: trust it even if the crop disagreed
            else:
                log.debug("candidate dropped: not found again on a re-centred crop")
        return self._nms(out)

    @staticmethod
    def _unrotate(c: _Candidate, k: int, W: int, H: int) -> _Candidate:
        """Map a candidate found on ``np.rot90(img, k)`` back to ``img`` (W x H) coordinates."""
        pts = c.landmarks.copy()
        x, y = pts[:, 0].copy(), pts[:, 1].copy()
        if k == 1:  # rot90 ccw: (x', y') = (y, W-1-x)  =>  x = W-1-y', y = x'
            pts[:, 0], pts[:, 1] = W - 1 - y, x
        elif k == 3:  # cw: (x', y') = (H-1-y, x)  =>  x = y', y = H-1-x'
            pts[:, 0], pts[:, 1] = y, H - 1 - x
        elif k == 2:
            pts[:, 0], pts[:, 1] = W - 1 - x, H - 1 - y
        return replace(c, landmarks=pts, box=_box_of(pts))

    @staticmethod
    def _observation(rgb: np.ndarray, c: _Candidate, scale: float) -> FaceObservation:
        pts = c.landmarks.copy()
        if scale != 1.0:
            pts[:, :3] /= scale
        box = _box_of(pts)
        return FaceObservation(
            box=box,
            landmarks=pts.astype(np.float32),
            five_points=pts[list(FIVE_POINT_MESH_IDX), :2].copy(),
            quality=face_quality(rgb, box),
            score=1.0 if c.refined else 0.5,
        )
