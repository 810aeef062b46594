"""Kiosk auto-capture of an ID document from live frames, with a guidance hint on every frame.

:class:`AutoCaptureTracker` is pure: feed it ``(rgb, timestamp_s)`` frames, read back a
:class:`CaptureStatus`. It never reads a clock and never counts frames: "steady for 1 s" means the
frame timestamps span 1 s, whatever the frame rate. It captures without a button once, for
``steady_s`` seconds, the document is:

* found as a quadrilateral (else ``show_document``),
* large enough in the frame (else ``move_closer``),
* held flat enough, corners near 90 degrees (else ``hold_flat``),
* lit enough (else ``more_light``),
* not moving: every corner within ``max_motion_px`` of where it was when the steady period began,
  in pixels of the ``analysis_width_px`` analysis image (else ``hold_still``),
* sharp (else ``too_blurry``),
* free of glare over the portrait (else ``tilt_to_remove_glare``),
* showing a portrait, when a portrait finder is given (else, after ``photo_side_after_s`` of an
  otherwise good document, ``show_photo_side``: people very often present the back first).

The captured image is the sharpest frame of the steady period, rectified at full frame resolution.
The UI maps hint codes to words; the codes are stable.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from kiosk.config.document import AutoCapture
from kiosk.document.quad import QuadOptions, corner_angles, find_document_quad
from kiosk.document.rectify import rectify
from kiosk.document.types import DocumentKind, Quad, Rectified

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]
#: Finds the portrait on a rectified document image; returns its (x, y, w, h) box or None.
PortraitFinder = Callable[[np.ndarray], "Box | None"]

#: Width the rectified document is resampled to before measuring sharpness (makes it comparable).
SHARPNESS_WIDTH_PX = 480
#: A pixel whose three channels are all at least this is saturated (glare).
GLARE_LEVEL = 250


class CaptureHint(str, enum.Enum):
    """What the applicant should do next. Values are stable codes the UI translates."""

    SHOW_DOCUMENT = "show_document"
    MOVE_CLOSER = "move_closer"
    HOLD_FLAT = "hold_flat"
    MORE_LIGHT = "more_light"
    HOLD_STILL = "hold_still"
    TOO_BLURRY = "too_blurry"
    TILT_TO_REMOVE_GLARE = "tilt_to_remove_glare"
    SHOW_PHOTO_SIDE = "show_photo_side"
    KEEP_STILL = "keep_still"  # all good, the capture countdown is running
    CAPTURED = "captured"


class CaptureState(enum.Enum):
    SEARCHING = "searching"  # no document in view
    ADJUSTING = "adjusting"  # a document is in view but a gate fails
    STEADYING = "steadying"  # every gate passes; waiting for steady_s
    CAPTURED = "captured"


@dataclass(frozen=True)
class CaptureMetrics:
    """Measurements of the current frame (None when not measured). ``area_frac``: document area over
    frame area. ``tilt_deg``: largest corner deviation from 90. ``motion_px``: largest corner
    displacement since the steady period began (analysis pixels). ``sharpness``: Laplacian variance of
    the rectified document at 480 px wide. ``brightness``: mean grey 0..255. ``glare_frac``: fraction
    of saturated pixels over the portrait (or the ICAO portrait zone when no finder is used)."""

    area_frac: float | None = None
    tilt_deg: float | None = None
    motion_px: float | None = None
    sharpness: float | None = None
    brightness: float | None = None
    glare_frac: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        return {k: (None if v is None else round(v, 4)) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class CapturedDocument:
    """The capture: ``frame`` is the full camera frame, ``document`` its rectification at full
    resolution, ``timestamp_s`` the frame's timestamp, ``sharpness`` as in :class:`CaptureMetrics`."""

    frame: np.ndarray
    document: Rectified
    timestamp_s: float
    sharpness: float


@dataclass(frozen=True)
class CaptureStatus:
    """Outcome of one frame. ``progress``: 0..1 of the steady period. ``quad``: the document outline
    in the frame's pixels (None when not found). ``captured``: set once, when state is CAPTURED."""

    state: CaptureState
    hint: CaptureHint
    timestamp_s: float
    progress: float = 0.0
    quad: Quad | None = None
    metrics: CaptureMetrics = field(default_factory=CaptureMetrics)
    captured: CapturedDocument | None = None


def portrait_zone(kind: DocumentKind, width: int, height: int) -> Box:
    """Where ICAO 9303 layouts put the portrait on a rectified landscape document (x, y, w, h px):
    the left part of the card (zone V). Used for the glare check when no portrait finder is given."""
    if kind is DocumentKind.TD3:
        fx, fy, fw, fh = 0.03, 0.2, 0.33, 0.6
    else:
        fx, fy, fw, fh = 0.03, 0.15, 0.36, 0.7
    return (fx * width, fy * height, fw * width, fh * height)


def paper_is_saturated(rgb: np.ndarray) -> bool:
    """True when the document's own paper is at the saturation level (an over-exposed frame, or a
    digital specimen): saturated pixels then say nothing about glare."""
    return float(np.percentile(rgb.min(axis=2), 60)) >= GLARE_LEVEL - 2


def glare_fraction(rgb: np.ndarray, box: Box) -> float:
    """Fraction of pixels in ``box`` whose R, G and B are all saturated (>= 250)."""
    h, w = rgb.shape[:2]
    x, y, bw, bh = box
    x0, y0 = max(0, int(x)), max(0, int(y))
    x1, y1 = min(w, math.ceil(x + bw)), min(h, math.ceil(y + bh))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return 0.0
    region = rgb[y0:y1, x0:x1]
    return float(np.mean(region.min(axis=2) >= GLARE_LEVEL))


def document_sharpness(rgb: np.ndarray) -> tuple[float, float]:
    """(Laplacian variance at 480 px wide, mean grey) of a rectified document image, measured inside
    a 5 % inset so the document's own outline against the background does not count as detail."""
    import cv2

    h, w = rgb.shape[:2]
    iy, ix = max(1, h // 20), max(1, w // 20)
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[iy : h - iy, ix : w - ix]), cv2.COLOR_RGB2GRAY)
    s = SHARPNESS_WIDTH_PX / grey.shape[1]
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    grey = cv2.resize(grey, (SHARPNESS_WIDTH_PX, max(8, round(grey.shape[0] * s))), interpolation=interp)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var()), float(grey.mean())


def portrait_finder_from(detector: object) -> PortraitFinder:
    """A :data:`PortraitFinder` from anything with ``detect(rgb) -> list[FaceObservation]``
    (a :class:`kiosk.perception.detect.StillFaceDetector`): the largest face's box."""

    def find(img: np.ndarray) -> Box | None:
        faces = detector.detect(img)  # type: ignore[attr-defined]
        return tuple(float(v) for v in faces[0].box) if faces else None  # type: ignore[return-value]

    return find


def capture_quad_options(config: AutoCapture) -> QuadOptions:
    """The outline finder's options for live frames: small and slanted documents are found too, so
    the hint can say "closer" or "flat" rather than "show the document"."""
    return QuadOptions(
        min_area_frac=min(0.04, config.min_area_frac),
        work_px=config.analysis_width_px,
        min_aspect=1.0,  # a page leaning away looks squarer than it is
        max_aspect=2.2,
        max_corner_dev_deg=max(40.0, config.max_tilt_deg),
    )


class AutoCaptureTracker:
    """Feed frames with :meth:`update`; see the module docstring. Not thread-safe (one camera loop)."""

    def __init__(self, config: AutoCapture, *, portrait_finder: PortraitFinder | None = None) -> None:
        self.config = config
        self.portrait_finder = portrait_finder
        self._quad_opts = capture_quad_options(config)
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new applicant, or a retake)."""
        self._last_t: float | None = None
        self._anchor: np.ndarray | None = None
        self._steady_since: float | None = None
        self._best: tuple[float, np.ndarray, Quad, float] | None = None  # sharpness, frame, quad, t
        self._portrait: Box | None = None  # in analysis-rectified pixels, kept while the doc stays in view
        self._last_face_check: float | None = None
        self._no_face_since: float | None = None
        self._captured: CaptureStatus | None = None

    # -----------------------------------------------------------------------------------------

    def _lost(self) -> None:
        self._anchor = None
        self._steady_since = None
        self._best = None
        self._portrait = None
        self._last_face_check = None
        self._no_face_since = None

    def _unsteady(self) -> None:
        self._steady_since = None
        self._best = None

    def _status(
        self,
        state: CaptureState,
        hint: CaptureHint,
        t: float,
        quad: Quad | None,
        m: CaptureMetrics,
        progress: float = 0.0,
    ) -> CaptureStatus:
        return CaptureStatus(state=state, hint=hint, timestamp_s=t, progress=progress, quad=quad, metrics=m)

    def update(self, rgb: np.ndarray, timestamp_s: float) -> CaptureStatus:
        """Analyse one RGB uint8 frame taken at ``timestamp_s`` (monotonic seconds)."""
        import cv2

        if self._captured is not None:
            return self._captured
        t = float(timestamp_s)
        if self._last_t is not None and t < self._last_t:
            raise ValueError("frame timestamps must not go back")
        self._last_t = t
        cfg = self.config

        h, w = rgb.shape[:2]
        scale = min(1.0, cfg.analysis_width_px / w)
        small = (
            rgb
            if scale >= 1.0
            else cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        )
        sh, sw = small.shape[:2]
        quad_small = find_document_quad(small, self._quad_opts)
        if quad_small is None:
            self._lost()
            return self._status(CaptureState.SEARCHING, CaptureHint.SHOW_DOCUMENT, t, None, CaptureMetrics())
        quad_full = quad_small.scaled(1.0 / scale)
        area_frac = quad_small.area / float(sw * sh)
        tilt = max(abs(a - 90.0) for a in corner_angles(quad_small.corners.astype(np.float64)))
        m = CaptureMetrics(area_frac=area_frac, tilt_deg=tilt)
        adjusting = CaptureState.ADJUSTING
        if area_frac < cfg.min_area_frac:
            self._lost()
            return self._status(adjusting, CaptureHint.MOVE_CLOSER, t, quad_full, m)
        if tilt > cfg.max_tilt_deg:
            self._unsteady()
            self._anchor = None
            return self._status(adjusting, CaptureHint.HOLD_FLAT, t, quad_full, m)

        # Motion: distance of every corner from where the steady period began.
        corners = quad_small.corners.astype(np.float64)
        motion = 0.0
        if self._anchor is not None:
            motion = float(np.max(np.linalg.norm(corners - self._anchor, axis=1)))
        if self._anchor is None or motion > cfg.max_motion_px:
            moved = self._anchor is not None
            self._anchor = corners
            self._unsteady()
            self._portrait = None  # the document moved: the portrait box may belong to another outline
            if moved:
                m = CaptureMetrics(area_frac=area_frac, tilt_deg=tilt, motion_px=motion)
                return self._status(adjusting, CaptureHint.HOLD_STILL, t, quad_full, m)

        doc_small = rectify(small, quad_small, px_per_mm=SHARPNESS_WIDTH_PX / 85.6, max_upscale=4.0)
        sharp, bright = document_sharpness(doc_small.image)
        m = CaptureMetrics(
            area_frac=area_frac, tilt_deg=tilt, motion_px=motion, sharpness=sharp, brightness=bright
        )
        if bright < cfg.min_brightness:
            self._unsteady()
            return self._status(adjusting, CaptureHint.MORE_LIGHT, t, quad_full, m)
        if sharp < cfg.min_sharpness:
            self._unsteady()
            return self._status(adjusting, CaptureHint.TOO_BLURRY, t, quad_full, m)

        # Portrait: look for it now and then (it costs a detector call), keep it while the card stays.
        img = doc_small.image
        if self.portrait_finder is not None and self._portrait is None:
            due = self._last_face_check is None or t - self._last_face_check >= cfg.face_check_interval_s
            if due:
                self._last_face_check = t
                self._portrait = self.portrait_finder(img)
                if self._portrait is None and self._no_face_since is None:
                    self._no_face_since = t
        if self._portrait is not None:
            glare = glare_fraction(img, self._portrait)  # skin is never white: any saturation is glare
        elif paper_is_saturated(img):
            glare = 0.0  # cannot tell glare from white paper in the portrait zone
        else:
            glare = glare_fraction(img, portrait_zone(doc_small.kind, img.shape[1], img.shape[0]))
        m = CaptureMetrics(
            area_frac=area_frac,
            tilt_deg=tilt,
            motion_px=motion,
            sharpness=sharp,
            brightness=bright,
            glare_frac=glare,
        )
        if glare > cfg.max_glare_frac:
            self._unsteady()
            return self._status(adjusting, CaptureHint.TILT_TO_REMOVE_GLARE, t, quad_full, m)
        if self.portrait_finder is not None and self._portrait is None:
            self._unsteady()
            waited = t - self._no_face_since if self._no_face_since is not None else 0.0
            hint = CaptureHint.SHOW_PHOTO_SIDE if waited >= cfg.photo_side_after_s else CaptureHint.HOLD_STILL
            return self._status(adjusting, hint, t, quad_full, m)

        # Every gate passes: count time, remember the sharpest frame.
        if self._steady_since is None:
            self._steady_since = t
        if self._best is None or sharp > self._best[0]:
            self._best = (sharp, rgb.copy(), quad_full, t)  # the camera may reuse its buffer
        progress = min(1.0, (t - self._steady_since) / cfg.steady_s)
        if progress < 1.0:
            return self._status(CaptureState.STEADYING, CaptureHint.KEEP_STILL, t, quad_full, m, progress)

        best_sharp, frame, quad, t_best = self._best
        doc = rectify(frame, quad)
        captured = CapturedDocument(frame=frame, document=doc, timestamp_s=t_best, sharpness=best_sharp)
        log.info(
            "document auto-captured (sharpness %.0f, area %.2f, held %.2f s)",
            best_sharp,
            area_frac,
            t - self._steady_since,
        )
        self._captured = CaptureStatus(
            state=CaptureState.CAPTURED,
            hint=CaptureHint.CAPTURED,
            timestamp_s=t,
            progress=1.0,
            quad=quad,
            metrics=m,
            captured=captured,
        )
        return self._captured
