"""An ID card held up to the kiosk camera: its outline is found (not the portrait or the colour band
printed on it) in many poses, on a busy background and on a light wall, and the virtual applicant's
card is auto-captured within seconds of simulated time and gives a portrait.

The astronaut (scikit-image's public-domain photo, shipped with the code) needs no data directory;
krzysiek (a real webcam clip) runs when the evaluation data is present.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from kiosk.camera.actor import ActorSource, ImageActor
from kiosk.camera.actor_media import load_still
from kiosk.camera.actor_render import (
    CARD_H_PX,
    CARD_W_PX,
    HoldStyle,
    card_pose_corners,
    hold_up,
    render_id_card,
)
from kiosk.camera.actor_scenario import BUILTIN_ASTRONAUT, load_scenario
from kiosk.camera.imageops import crop_normalized, place_on_canvas
from kiosk.clock import FakeClock
from kiosk.config.schema import KioskConfig
from kiosk.document.autocapture import (
    AutoCaptureTracker,
    CapturedDocument,
    CaptureStatus,
    capture_quad_options,
)
from kiosk.document.pipeline import document_detector_options, process_document
from kiosk.document.quad import find_document_quad
from kiosk.document.types import DocumentKind
from kiosk.perception.detect import StillFaceDetector

T0 = 1000.0
FRAME = (640, 480)
#: Prompt to capture, simulated seconds: the actor's reaction (0.6 s) + steady_s (1 s) + slack.
CAPTURE_WITHIN_S = 3.0
#: The card's portrait is about 8 % of the frame: an outline this large is the card itself.
MIN_CARD_AREA_FRAC = 0.25

# Held-card poses: turned out of the image plane (yaw, pitch), in it (deg), near and far (width).
POSES = [
    (yaw, pitch, deg, width, thumb)
    for (yaw, pitch), deg, width, thumb in itertools.product(
        [(-12.0, 6.0), (0.0, -8.0), (10.0, 4.0)], [-3.0, 2.0], [0.55, 0.72], [True, False]
    )
]


@pytest.fixture(scope="module")
def cfg() -> KioskConfig:
    return KioskConfig()


@pytest.fixture(scope="module")
def detector(cfg: KioskConfig) -> Iterator[StillFaceDetector]:
    det = StillFaceDetector(document_detector_options(cfg.document))
    yield det
    det.close()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return load_still(BUILTIN_ASTRONAUT)


def _backgrounds(astronaut: np.ndarray) -> dict[str, np.ndarray]:
    """A busy photo (flag stripes, an orange suit) and a light wall a pale card hardly stands out from."""
    w, h = FRAME
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    wall = np.stack([232 - 0.03 * yy, 233 - 0.03 * yy, 235 - 0.02 * xx], axis=-1)
    return {
        "photo": place_on_canvas(crop_normalized(astronaut, (0.05, 0.0, 0.75, 0.75)), w, h, "cover"),
        "light_wall": np.clip(wall, 0, 255).astype(np.uint8),
    }


def test_held_card_outline_is_found_in_many_poses(cfg: KioskConfig, astronaut: np.ndarray) -> None:
    """The tracker's quad finder returns the card's own corners (where the renderer put them), not
    the portrait frame, the header band or a quad leaking into the thumb or the body."""
    card = render_id_card(np.ascontiguousarray(crop_normalized(astronaut, (0.25, 0.02, 0.4, 0.45))))
    opts = capture_quad_options(cfg.document.capture)  # the finder exactly as the kiosk runs it
    rng = np.random.default_rng(5)
    misses = []
    for name, bg in _backgrounds(astronaut).items():
        for yaw, pitch, deg, width, thumb in POSES:
            style = HoldStyle(yaw_deg=yaw, pitch_deg=pitch, thumb=thumb)
            frame = hold_up(bg, card, width, 0.0, 20.0, deg, style)
            frame = np.clip(frame + rng.normal(0.0, 2.0, frame.shape), 0, 255).astype(np.uint8)
            truth = card_pose_corners(FRAME, (CARD_W_PX, CARD_H_PX), width, 0.0, 20.0, deg, yaw, pitch)
            quad = find_document_quad(frame, opts)
            err = None if quad is None else float(np.abs(quad.corners - truth).max())
            if err is None or err > 4.0:
                misses.append((name, yaw, pitch, deg, width, thumb, err))
    assert not misses, f"card outline missed or off by > 4 px: {misses}"


def _capture(actor: ActorSource, cfg: KioskConfig) -> tuple[CapturedDocument, float, list[CaptureStatus]]:
    """Prompt ``actor`` for the document at T0 and feed its frames to the kiosk's tracker until it
    captures. Returns the capture, the simulated seconds it took and the statuses of the held card."""
    actor.open()
    actor.on_prompt("document", T0)
    tracker = AutoCaptureTracker(cfg.document.capture)
    held = []
    try:
        while True:
            frame = actor.read(0.0)
            assert frame is not None
            status = tracker.update(frame.rgb, frame.timestamp_s)
            if frame.meta["actor_mode"] == "document":
                held.append(status)
            if status.captured is not None:
                return status.captured, frame.timestamp_s - T0, held
            assert frame.timestamp_s - T0 < 3 * CAPTURE_WITHIN_S, (
                f"no capture after {frame.timestamp_s - T0:.1f} s; last hint {status.hint.value}, "
                f"metrics {status.metrics.as_dict()}"
            )
    finally:
        actor.close()


def _check_capture(actor: ActorSource, cfg: KioskConfig, detector: StillFaceDetector) -> None:
    captured, waited, held = _capture(actor, cfg)
    assert waited <= CAPTURE_WITHIN_S
    outlines = [s.metrics.area_frac for s in held if s.metrics.area_frac is not None]
    assert outlines and min(outlines) >= MIN_CARD_AREA_FRAC, "an outline smaller than the card was taken"
    doc = captured.document
    assert doc.rectified and doc.kind is DocumentKind.ID1
    # What the kiosk enrols (kiosk.runtime.document_link hands over the rectified image).
    result = process_document(doc.image, detector, cfg.document)
    portrait = result.portrait
    assert portrait.quality.face_px >= cfg.document.portrait.min_face_px
    assert portrait.input_box is not None
    x, _, w, _ = portrait.input_box
    centre = (x + w / 2.0) / doc.image.shape[1]
    assert 0.05 < centre < 0.4, "the portrait is on the left of the card, where the card prints it"


def test_astronaut_card_is_auto_captured_and_gives_a_portrait(
    cfg: KioskConfig, detector: StillFaceDetector
) -> None:
    _check_capture(ImageActor(FakeClock(T0), realtime=False), cfg, detector)


def test_krzysiek_card_is_auto_captured_and_gives_a_portrait(
    data_dir: Path, cfg: KioskConfig, detector: StillFaceDetector
) -> None:
    actor = ActorSource(load_scenario("krzysiek"), FakeClock(T0), realtime=False)
    _check_capture(actor, cfg, detector)
