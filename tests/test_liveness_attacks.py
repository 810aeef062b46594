"""Attacks built at test time from still photos and clips in ../shared/data must fail liveness.

Every requested re-embedding is answered MATCHED (the attacker's face matches the ID: the worst
case), so the rejections below come from liveness alone.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

from kiosk.config.liveness import LivenessConfig
from kiosk.liveness import LivenessSession, LivenessState, Reason, draw_challenges, specs_for
from kiosk.liveness.analysis import landmark_video
from kiosk.liveness.attacks import photo_attack_frames, portrait_crop
from kiosk.liveness.screen import ScreenMonitor
from kiosk.liveness.types import LivenessStatus
from kiosk.liveness.video import read_frames

PHOTO = "spoof_silentface/real/image_T1.jpg"


def _rgb(path: Path) -> np.ndarray:
    import cv2

    if not path.is_file():
        pytest.skip(f"image absent: {path}")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _portrait(path: Path) -> np.ndarray:
    from kiosk.models import verified_model_path
    from kiosk.perception.landmarker import FaceLandmarker, LandmarkerOptions, RunningMode

    rgb = _rgb(path)
    opts = LandmarkerOptions(model_path=verified_model_path("face_landmarker"), mode=RunningMode.IMAGE)
    with FaceLandmarker(opts) as lm:
        obs = lm.detect(rgb)
    assert obs.face_count == 1
    assert obs.primary is not None
    return portrait_crop(rgb, obs.primary.box)


def run(frames: Iterable[tuple[np.ndarray, float]], cfg: LivenessConfig, specs: list) -> LivenessStatus:  # type: ignore[type-arg]
    """Landmark frames one by one (stopping when the session decides) with the screen check on."""
    from kiosk.models import verified_model_path
    from kiosk.perception.landmarker import FaceLandmarker, LandmarkerOptions, RunningMode

    sess = LivenessSession(cfg, specs, mirrored=True, screen=ScreenMonitor(cfg.spoof))
    st = None
    opts = LandmarkerOptions(model_path=verified_model_path("face_landmarker"), mode=RunningMode.VIDEO)
    with FaceLandmarker(opts) as lm:
        for rgb, t in frames:
            st = sess.update(lm.detect_video(rgb, t), rgb)
            if st.embed_request:
                sess.add_match_sample(st.timestamp_s, True, 0.3)
            if st.finished:
                break
    assert st is not None
    return st


def test_static_photo_is_rejected_as_static(data_dir: Path) -> None:
    cfg = LivenessConfig()
    portrait = _portrait(data_dir / PHOTO)
    st = run(
        photo_attack_frames(portrait, "static", np.random.default_rng(1), duration_s=12),
        cfg,
        draw_challenges(random.Random(1), cfg),
    )
    assert st.state is LivenessState.FAILED
    assert st.reason == Reason.STATIC_PHOTO.value
    assert st.timestamp_s < 4.0  # caught within the still-photo window, before any challenge could time out


@pytest.mark.parametrize("photo", [PHOTO, "faceapi_bbt/expressions/neutral.jpg"])
def test_swung_photo_is_rejected_as_planar(data_dir: Path, photo: str) -> None:
    """Against a turn prompt the attacker swings the photo 40 deg about its vertical axis (and tilts
    it for a nod): its landmarks stay on one plane."""
    cfg = LivenessConfig()
    portrait = _portrait(data_dir / photo)
    frames = photo_attack_frames(portrait, "swing", np.random.default_rng(3), duration_s=20)
    st = run(frames, cfg, specs_for(["turn_left", "nod", "blink"], cfg))
    assert st.state is LivenessState.FAILED
    assert st.reason == Reason.PLANAR_MOTION.value, st.detail
    assert st.timestamp_s < cfg.baseline_s + cfg.challenge_timeout_s


def test_randomly_moved_photo_is_rejected(data_dir: Path) -> None:
    cfg = LivenessConfig()
    portrait = _portrait(data_dir / PHOTO)
    frames = photo_attack_frames(portrait, "moved", np.random.default_rng(11), duration_s=36)
    st = run(frames, cfg, draw_challenges(random.Random(11), cfg))
    assert st.state is LivenessState.FAILED
    assert st.reason in (Reason.PLANAR_MOTION.value, Reason.CHALLENGE_TIMEOUT.value), st.detail


def test_handheld_photo_never_passes(data_dir: Path) -> None:
    cfg = LivenessConfig()
    portrait = _portrait(data_dir / "faceapi_bbt/expressions/neutral.jpg")
    st = run(
        photo_attack_frames(portrait, "handheld", np.random.default_rng(5), duration_s=20),
        cfg,
        specs_for(["blink", "smile"], cfg),
    )
    assert st.state is LivenessState.FAILED
    assert st.reason in (
        Reason.CHALLENGE_TIMEOUT.value,
        Reason.PLANAR_MOTION.value,
        Reason.STATIC_PHOTO.value,
    )


def _two_people_frames(
    data_dir: Path, *, second_from_s: float, swap: bool = False, fps: float = 15.0, duration_s: float = 4.0
) -> Iterable[tuple[np.ndarray, float]]:
    """A 640x480 scene: the left person of two_people.jpg alone, then (from ``second_from_s``) the
    other person too -- or, with ``swap``, the other person INSTEAD, elsewhere in the frame."""
    rgb = _rgb(data_dir / "face_recognition_examples/multi_face/two_people.jpg")
    h, w = rgb.shape[:2]
    left, right = rgb[:, : w // 2], rgb[:, w // 2 :]
    rng = np.random.default_rng(0)
    import cv2

    def fit(img: np.ndarray) -> np.ndarray:
        return cv2.resize(img, (300, round(300 * img.shape[0] / img.shape[1])), interpolation=cv2.INTER_AREA)

    a, b = fit(right), fit(left)
    for i in range(int(duration_s * fps)):
        t = i / fps
        frame = np.full((480, 640, 3), 90, np.uint8)
        late = t >= second_from_s
        if not (swap and late):
            frame[60 : 60 + a.shape[0], 10:310] = a
        if late:
            frame[60 : 60 + b.shape[0], 330:630] = b
        noisy = frame.astype(np.float32) + rng.normal(0, 2.0, frame.shape)
        yield np.clip(noisy, 0, 255).astype(np.uint8), t


def test_second_face_fails_continuity(data_dir: Path) -> None:
    cfg = LivenessConfig()
    st = run(_two_people_frames(data_dir, second_from_s=1.5), cfg, specs_for(["blink"], cfg))
    assert st.state is LivenessState.FAILED and st.reason == Reason.SECOND_FACE.value
    assert 1.5 <= st.timestamp_s <= 1.5 + cfg.continuity.second_face_min_s + 0.15


def test_swapping_the_face_between_frames_is_caught(data_dir: Path) -> None:
    cfg = LivenessConfig()
    st = run(_two_people_frames(data_dir, second_from_s=1.5, swap=True), cfg, specs_for(["blink"], cfg))
    assert st.state is LivenessState.FAILED and st.reason == Reason.FACE_JUMP.value
    assert st.timestamp_s == pytest.approx(1.5, abs=0.1)


def test_hamilton_clip_end_fails_continuity(data_dir: Path) -> None:
    """6-9.2 s: the singer (head turned toward image-left), a cut (no face 7.1-7.7 s), then an
    audience shot whose faces are elsewhere in the frame. The singer was last seen turned, so the gap
    alone is tolerated (as for a real turn toward profile); the face that comes back has jumped."""
    clip = data_dir / "face_recognition_examples/video/short_hamilton_clip.mp4"
    if not clip.is_file():
        pytest.skip("hamilton clip absent")
    cfg = LivenessConfig()
    st = run(read_frames(clip, start_s=6.0), cfg, specs_for(["blink"], cfg))
    assert st.state is LivenessState.FAILED
    assert st.reason in (Reason.FACE_JUMP.value, Reason.FACE_LOST.value, Reason.SECOND_FACE.value)
    assert st.timestamp_s <= 7.9
    strict = cfg.model_copy(
        update={"continuity": cfg.continuity.model_copy(update={"max_turned_gap_s": 0.5})}
    )
    st2 = run(read_frames(clip, start_s=6.0), strict, specs_for(["blink"], cfg))
    assert st2.reason == Reason.FACE_LOST.value and 7.5 <= st2.timestamp_s <= 7.8


def test_phone_replay_with_live_person_behind_is_rejected(data_dir: Path) -> None:
    """anti_spoofing_zubair/fake.mp4: the live man is tracked for 1.9 s, then only the phone shows."""
    clip = data_dir / "liveness_videos2/anti_spoofing_zubair/fake.mp4"
    if not clip.is_file():
        pytest.skip("replay clip absent")
    cfg = LivenessConfig()
    st = run(read_frames(clip), cfg, draw_challenges(random.Random(0), cfg))
    assert st.state is LivenessState.FAILED
    assert st.reason in (Reason.FACE_LOST.value, Reason.BASELINE_TIMEOUT.value, Reason.SCREEN_REPLAY.value)


@pytest.mark.slow
def test_many_photo_attacks_never_pass(data_dir: Path) -> None:
    cfg = LivenessConfig()
    portrait = _portrait(data_dir / PHOTO)
    for seed in range(10):
        for kind in ("static", "handheld", "moved"):
            st = run(
                photo_attack_frames(portrait, kind, np.random.default_rng(seed), duration_s=36),
                cfg,
                draw_challenges(random.Random(seed), cfg),
            )
            assert st.state is LivenessState.FAILED, (kind, seed, st.detail)


def test_landmark_video_reports_both_faces(data_dir: Path) -> None:
    obs = landmark_video(_two_people_frames(data_dir, second_from_s=0.0, duration_s=0.4))
    assert {o.face_count for o in obs} == {2}
