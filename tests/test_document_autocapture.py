"""Auto-capture tracker fed frame sequences built at test time from a real specimen passport page:
the page is warped onto a textured tray, absent, then far, then moving, then held still."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.config.document import AutoCapture, DocumentConfig
from kiosk.document.autocapture import AutoCaptureTracker, CaptureHint, CaptureState, portrait_finder_from
from kiosk.document.pipeline import document_detector_options, process_rectified
from kiosk.document.types import DocumentKind
from kiosk.imageio import load_image
from kiosk.perception.detect import DetectorOptions, StillFaceDetector

LIMITS = {"max_bytes": 25_000_000, "max_pixels": 60_000_000}
FRAME = (640, 480)


@pytest.fixture(scope="module")
def page(data_dir: Path) -> np.ndarray:
    """The specimen as a camera sees it: its digital 255-white paper exposed to about 230."""
    rgb = load_image(data_dir / "id_documents" / "passporteye_tests" / "passport-td3.png", **LIMITS)
    return (rgb.astype(np.float32) * 0.88 + 5).astype(np.uint8)


@pytest.fixture(scope="module")
def finder_detector() -> Iterator[StillFaceDetector]:
    det = StillFaceDetector(DetectorOptions(tiles=False, rotations=True))
    yield det
    det.close()


def _tray(seed: int) -> np.ndarray:
    w, h = FRAME
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 90, size=(h // 16 + 1, w // 16 + 1, 3)).astype(np.uint8)
    tray = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(tray.astype(int) + rng.integers(-8, 9, (h, w, 3)), 0, 255).astype(np.uint8)


def _corners(cx: float, cy: float, width: float, *, aspect: float = 125 / 88, angle_deg: float = 0.0,
             persp: float = 0.0) -> np.ndarray:  # fmt: skip
    hw, hh = width / 2, width / aspect / 2
    pts = np.array([[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]], float)
    pts[0, 0] += persp * hw  # top edge shorter: the page leans away
    pts[1, 0] -= persp * hw
    a = np.radians(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return pts @ rot.T + [cx, cy]


def _place(tray: np.ndarray, doc: np.ndarray, corners: np.ndarray) -> np.ndarray:
    h, w = doc.shape[:2]
    src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    hm = cv2.getPerspectiveTransform(src, np.float32(corners))
    warped = cv2.warpPerspective(doc, hm, FRAME, flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), hm, FRAME) > 127
    out = tray.copy()
    out[mask] = warped[mask]
    return out


def _with_glare(page: np.ndarray) -> np.ndarray:
    """A saturated reflection over the portrait (its face sits near x 280, y 430 on this page)."""
    g = page.copy()
    cv2.ellipse(g, (280, 430), (70, 55), 0, 0, 360, (255, 255, 255), -1)
    return g


Scene = Callable[[float], np.ndarray]


def _scene(page: np.ndarray, seed: int = 7, still_page: np.ndarray | None = None) -> tuple[Scene, float]:
    """Nothing 0-0.5 s, far 0.5-1.0 s, moving 1.0-1.8 s, held still (hand tremor < 1 px) from 1.8 s."""
    tray = _tray(seed)
    rng = np.random.default_rng(seed + 1)
    held = page if still_page is None else still_page

    def frame(t: float) -> np.ndarray:
        if t < 0.5:
            return tray
        if t < 1.0:
            return _place(tray, page, _corners(320, 240, 200, angle_deg=5))
        if t < 1.8:
            return _place(tray, page, _corners(250 + (t - 1.0) * 140, 240, 440, angle_deg=3))
        jitter = rng.normal(0, 0.4, 2)
        return _place(tray, held, _corners(362 + jitter[0], 240 + jitter[1], 440, angle_deg=3, persp=0.05))

    return frame, 1.8


def _play(tracker: AutoCaptureTracker, scene: Scene, fps: float, until_s: float) -> list:
    statuses = []
    n = int(until_s * fps)
    for i in range(n):
        t = 100.0 + i / fps  # monotonic clocks do not start at zero
        st = tracker.update(scene(i / fps), t)
        statuses.append(st)
        if st.state is CaptureState.CAPTURED:
            break
    return statuses


def test_guides_then_captures(page: np.ndarray, finder_detector: StillFaceDetector) -> None:
    cfg = AutoCapture.model_validate({})
    tracker = AutoCaptureTracker(cfg, portrait_finder=portrait_finder_from(finder_detector))
    scene, still_from = _scene(page)
    statuses = _play(tracker, scene, fps=15, until_s=4.0)
    hints = [s.hint for s in statuses]
    by_time = {round(s.timestamp_s - 100.0, 3): s.hint for s in statuses}
    assert all(h is CaptureHint.SHOW_DOCUMENT for t, h in by_time.items() if t < 0.5)
    assert all(h is CaptureHint.MOVE_CLOSER for t, h in by_time.items() if 0.55 < t < 1.0)
    assert CaptureHint.HOLD_STILL in [h for t, h in by_time.items() if 1.05 < t < 1.8]
    assert CaptureHint.KEEP_STILL in hints
    last = statuses[-1]
    assert last.state is CaptureState.CAPTURED and last.captured is not None
    # Time, not frames: no capture before the page has been still for steady_s.
    assert last.timestamp_s - 100.0 >= still_from + cfg.steady_s - 1e-6
    assert last.timestamp_s - 100.0 <= still_from + cfg.steady_s + 0.2
    doc = last.captured.document
    assert doc.rectified and doc.kind is DocumentKind.TD3
    h, w = doc.image.shape[:2]
    assert w / h == pytest.approx(125 / 88, rel=0.02)
    # Once captured the tracker stays captured.
    assert tracker.update(scene(3.9), 200.0).state is CaptureState.CAPTURED
    # The capture is good enough for the portrait step.
    doc_cfg = DocumentConfig.model_validate({})
    with StillFaceDetector(document_detector_options(doc_cfg)) as det:
        res = process_rectified(doc, det, doc_cfg)
    assert res.portrait.quality.face_px >= doc_cfg.portrait.min_face_px


@pytest.mark.parametrize("fps", [8.0, 30.0])
def test_steady_time_does_not_depend_on_frame_rate(page: np.ndarray, fps: float) -> None:
    cfg = AutoCapture.model_validate({"steady_s": 0.8})
    tracker = AutoCaptureTracker(cfg)  # no portrait finder: ICAO portrait zone for glare
    scene, still_from = _scene(page, seed=3)
    statuses = _play(tracker, scene, fps=fps, until_s=4.0)
    last = statuses[-1]
    assert last.state is CaptureState.CAPTURED
    held = last.timestamp_s - 100.0 - still_from
    assert cfg.steady_s - 1e-6 <= held <= cfg.steady_s + 1.5 / fps + 0.1


def test_glare_over_the_portrait_blocks_capture(page: np.ndarray, finder_detector: StillFaceDetector) -> None:
    tracker = AutoCaptureTracker(
        AutoCapture.model_validate({}), portrait_finder=portrait_finder_from(finder_detector)
    )
    scene, still_from = _scene(page, still_page=_with_glare(page))
    statuses = _play(tracker, scene, fps=10, until_s=4.0)
    assert statuses[-1].state is not CaptureState.CAPTURED
    late = [s for s in statuses if s.timestamp_s - 100.0 > still_from + 0.3]
    assert late and all(s.hint is CaptureHint.TILT_TO_REMOVE_GLARE for s in late)
    assert all((s.metrics.glare_frac or 0) > 0.02 for s in late)
    # The applicant tilts the card: the reflection is gone and the capture follows.
    tray = _tray(7)
    t0 = statuses[-1].timestamp_s
    st = None
    for i in range(1, 25):
        st = tracker.update(
            _place(tray, page, _corners(362, 240, 440, angle_deg=3, persp=0.05)), t0 + i * 0.1
        )
        if st.state is CaptureState.CAPTURED:
            break
    assert st is not None and st.state is CaptureState.CAPTURED


def test_blurry_page_is_not_captured(page: np.ndarray) -> None:
    tracker = AutoCaptureTracker(AutoCapture.model_validate({}))
    blurred = cv2.GaussianBlur(page, (0, 0), 9.0)
    tray = _tray(5)
    frame = cv2.GaussianBlur(_place(tray, blurred, _corners(330, 240, 440, angle_deg=2)), (0, 0), 1.5)
    hints = {tracker.update(frame, 10.0 + i * 0.1).hint for i in range(25)}
    assert hints == {CaptureHint.TOO_BLURRY}


def test_back_side_asks_for_the_photo_side(data_dir: Path, finder_detector: StillFaceDetector) -> None:
    back = load_image(data_dir / "id_documents" / "passporteye_testdata" / "100_id-si.jpg", **LIMITS)
    back = cv2.resize(back, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    cfg = AutoCapture.model_validate({})
    tracker = AutoCaptureTracker(cfg, portrait_finder=portrait_finder_from(finder_detector))
    frame = _place(_tray(6), back, _corners(330, 240, 440, aspect=back.shape[1] / back.shape[0]))
    statuses = [tracker.update(frame, 50.0 + i * 0.1) for i in range(30)]
    assert all(s.state is not CaptureState.CAPTURED for s in statuses)
    assert statuses[-1].hint is CaptureHint.SHOW_PHOTO_SIDE
    assert all(s.hint is not CaptureHint.SHOW_PHOTO_SIDE for s in statuses if s.timestamp_s < 50.0 + 1.0)


def test_slanted_page_asks_to_hold_flat(page: np.ndarray) -> None:
    tracker = AutoCaptureTracker(AutoCapture.model_validate({"max_tilt_deg": 15.0}))
    frame = _place(_tray(8), page, _corners(320, 250, 460, persp=0.6))
    st = tracker.update(frame, 1.0)
    assert st.hint is CaptureHint.HOLD_FLAT
    assert st.metrics.tilt_deg is not None and st.metrics.tilt_deg > 15.0


def test_timestamps_must_not_go_back(page: np.ndarray) -> None:
    tracker = AutoCaptureTracker(AutoCapture.model_validate({}))
    tracker.update(_tray(1), 5.0)
    with pytest.raises(ValueError):
        tracker.update(_tray(1), 4.0)
