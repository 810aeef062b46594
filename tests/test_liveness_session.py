"""LivenessSession on real clips: prompts, direction mapping, response-before-prompt, re-embedding."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path

import pytest

from kiosk.config.liveness import LivenessConfig
from kiosk.liveness import LivenessSession, LivenessState, Reason, specs_for
from kiosk.liveness.analysis import landmark_video
from kiosk.liveness.baseline import clip_baseline
from kiosk.liveness.detectors import detect_challenge
from kiosk.liveness.sequence import spec_for
from kiosk.liveness.signals import compute_signals
from kiosk.liveness.types import LivenessStatus
from kiosk.liveness.video import read_frames
from kiosk.perception.types import FrameObservation

WEBCAM = "liveness_videos2/webcam_krzysiek/real.mp4"
_OBS: dict[str, list[FrameObservation]] = {}


def observations(data_dir: Path, rel: str) -> list[FrameObservation]:
    if rel not in _OBS:
        if not (data_dir / rel).is_file():
            pytest.skip(f"clip absent: {rel}")
        _OBS[rel] = landmark_video(read_frames(data_dir / rel))
    return _OBS[rel]


def play(
    sess: LivenessSession, obs: Iterable[FrameObservation], *, answer: bool | None = True
) -> tuple[LivenessStatus, list[LivenessStatus]]:
    """Feed frames; answer every embed request with ``answer`` (None: never answer)."""
    seen = []
    st = None
    for o in obs:
        st = sess.update(o)
        seen.append(st)
        if st.embed_request and answer is not None:
            sess.add_match_sample(st.timestamp_s, answer, 0.3 if answer else 0.9)
        if st.finished:
            break
    assert st is not None
    return st, seen


def outcome_done_s(sess: LivenessSession, name: str) -> float:
    for o in sess.detail()["outcomes"]:
        if o["name"] == name and o["passed"]:
            return float(o["done_s"])
    raise AssertionError(f"{name} not done: {sess.detail()}")


def test_webcam_clip_passes_smile_then_own_left_turn(data_dir: Path) -> None:
    cfg = LivenessConfig()
    sess = LivenessSession(cfg, specs_for(["smile", "turn_left"], cfg), mirrored=False)
    st, seen = play(sess, observations(data_dir, WEBCAM))
    assert st.state is LivenessState.PASSED, st.detail
    assert seen[0].state is LivenessState.BASELINE
    assert outcome_done_s(sess, "smile") == pytest.approx(1.2, abs=0.3)
    # The first turn (nose to image-right, 2.4-3.2 s) is the man's own left.
    assert outcome_done_s(sess, "turn_left") == pytest.approx(2.6, abs=0.3)
    assert st.samples >= cfg.continuity.min_reembed_samples
    assert sess.detail()["baseline_problem"] is None  # a baseline was reached


def test_turn_direction_mapping_mirrored_frames_vs_not(data_dir: Path) -> None:
    cfg = LivenessConfig()
    obs = observations(data_dir, WEBCAM)
    plain = LivenessSession(cfg, specs_for(["smile", "turn_right"], cfg), mirrored=False)
    play(plain, obs)
    flipped = LivenessSession(
        cfg, specs_for(["smile", "turn_right"], cfg), mirrored=False, frames_mirrored=True
    )
    play(flipped, obs)
    # Not mirrored: own right is the SECOND turn (nose to image-left, 3.4-4.1 s).
    assert outcome_done_s(plain, "turn_right") == pytest.approx(3.5, abs=0.3)
    # Frames mirrored: the first turn is now the own right.
    assert outcome_done_s(flipped, "turn_right") == pytest.approx(2.6, abs=0.3)


def test_preview_mirroring_changes_only_the_arrow(data_dir: Path) -> None:
    cfg = LivenessConfig()
    obs = observations(data_dir, WEBCAM)
    arrows = {}
    for mirrored in (False, True):
        sess = LivenessSession(cfg, specs_for(["turn_left"], cfg), mirrored=mirrored)
        st, seen = play(sess, obs)
        assert st.state is LivenessState.PASSED
        assert outcome_done_s(sess, "turn_left") == pytest.approx(2.6, abs=0.3)
        arrows[mirrored] = {s.arrow for s in seen if s.state is LivenessState.ACTIVE and s.challenge}
    assert arrows == {False: {"screen_right"}, True: {"screen_left"}}


def test_response_before_prompt_does_not_count(data_dir: Path) -> None:
    """d0.mp4 smiles from 0.8 s to 2.6 s. Prompted at 0.2 s the smile counts; prompted at 1.2 s it is
    already under way: the challenge only arms once the face is neutral again (after 2.6 s), and the
    clip ends before another smile."""
    cfg = LivenessConfig()
    obs = observations(data_dir, "liveness_videos2/liveportrait/d0.mp4")
    sigs = [compute_signals(o) for o in obs]
    base = clip_baseline(sigs)
    smile = spec_for("smile", cfg)
    early = detect_challenge(smile, sigs, base, cfg.thresholds, cfg.spoof, prompt_s=0.2)
    late = detect_challenge(smile, sigs, base, cfg.thresholds, cfg.spoof, prompt_s=1.2)
    assert early.done and early.armed_s is not None and early.armed_s >= 0.5
    assert not late.done and late.progress == 0.0
    assert late.armed_s is not None and late.armed_s > 2.6
    during = detect_challenge(
        smile, [s for s in sigs if s.t_s <= 2.0], base, cfg.thresholds, cfg.spoof, prompt_s=1.2
    )
    assert not during.done and during.armed_s is None
    assert during.hint is not None and during.hint.value == "relax"
    # The same through a session: its baseline ends about 0.6 s, after the smile began.
    sess = LivenessSession(cfg, [smile], mirrored=False)
    st, _ = play(sess, obs)
    assert st.state is not LivenessState.PASSED


def test_blinks_counted_only_after_the_prompt(data_dir: Path) -> None:
    cfg = LivenessConfig()
    obs = observations(data_dir, "liveness_videos/blink_detector_video.mp4")
    sess = LivenessSession(cfg, [spec_for("blink", cfg, count=2)], mirrored=False)
    st, _ = play(sess, obs)
    assert st.state is LivenessState.PASSED
    # The 0.42 s blink precedes the prompt (baseline until ~0.6 s); the 1.68 and 3.48 s ones count.
    assert outcome_done_s(sess, "blink") == pytest.approx(3.6, abs=0.25)
    # Four blinks are not there before the eyes are held shut (5.8-8.1 s, not a blink) ...
    sess4 = LivenessSession(cfg, [spec_for("blink", cfg, count=4)], mirrored=False)
    st4, _ = play(sess4, obs)
    # ... the drowsy closures later (9.27, 10.06 s) complete the count only if they are real blinks.
    done4 = [o for o in sess4.detail()["outcomes"] if o["passed"]]
    assert st4.state is not LivenessState.PASSED or done4[0]["done_s"] > 9.0


def test_identity_mismatch_fails(data_dir: Path) -> None:
    cfg = LivenessConfig()
    sess = LivenessSession(cfg, specs_for(["smile", "turn_left"], cfg), mirrored=False)
    st, seen = play(sess, observations(data_dir, WEBCAM), answer=False)
    assert st.state is LivenessState.FAILED and st.reason == Reason.IDENTITY_MISMATCH.value
    assert sum(s.embed_request for s in seen) == 1


def test_missing_samples_fail_and_unrequested_samples_are_ignored(data_dir: Path) -> None:
    cfg = LivenessConfig()
    sess = LivenessSession(cfg, specs_for(["smile", "turn_left"], cfg), mirrored=False)
    seen = []
    for o in observations(data_dir, WEBCAM):
        st = sess.update(o)
        seen.append(st)
        if st.embed_request:
            sess.add_match_sample(st.timestamp_s + 0.5, True, 0.3)  # not a requested frame
        if st.finished:
            break
    assert st.state is LivenessState.FAILED and st.reason == Reason.REEMBED_MISSING.value
    requests = [s.timestamp_s for s in seen if s.embed_request]
    assert all(s.state is LivenessState.ACTIVE for s in seen if s.embed_request)
    gaps = [b - a for a, b in itertools.pairwise(requests)]
    assert len(requests) >= 3 and min(gaps) >= cfg.continuity.reembed_interval_s - 1e-9
    # While challenges run: the first frame after each interval (16 fps clip). Afterwards unanswered
    # requests are re-issued once they are stale (3 intervals).
    assert gaps[0] < cfg.continuity.reembed_interval_s + 0.2


def test_timestamps_must_not_go_back(data_dir: Path) -> None:
    cfg = LivenessConfig()
    obs = observations(data_dir, WEBCAM)
    sess = LivenessSession(cfg, specs_for(["smile"], cfg), mirrored=False)
    sess.update(obs[5])
    with pytest.raises(ValueError, match="went back"):
        sess.update(obs[4])


def test_profile_turn_gap_is_tolerated_a_frontal_gap_is_not(data_dir: Path) -> None:
    """real.mov: turning to about -56 and +64 deg, the landmarker loses the face for 1.7 s and 2.1 s."""
    from kiosk.liveness.continuity import ContinuityMonitor

    cfg = LivenessConfig()
    obs = observations(data_dir, "liveness_videos2/anti_spoofing_zubair/real.mov")
    mon = ContinuityMonitor(cfg.continuity)
    reasons, reacquired = [], []
    for o in obs:
        reasons.append(mon.update(o))
        reacquired.append(mon.reacquired)
    assert reasons == [None] * len(obs)
    assert sum(reacquired) == 2  # and the session asks for a re-embedding on those frames
    strict = ContinuityMonitor(cfg.continuity.model_copy(update={"max_turned_gap_s": 0.5}))
    first = next((o.timestamp_s, r) for o in obs if (r := strict.update(o)) is not None)
    assert first[1] is Reason.FACE_LOST and first[0] == pytest.approx(7.67, abs=0.1)


def test_failed_embedding_is_asked_again_not_a_mismatch(data_dir: Path) -> None:
    cfg = LivenessConfig()
    sess = LivenessSession(cfg, specs_for(["smile", "turn_left"], cfg), mirrored=False)
    requests = []
    for o in observations(data_dir, WEBCAM):
        st = sess.update(o)
        if st.embed_request:
            requests.append(st.timestamp_s)
            if len(requests) == 1:
                sess.embedding_failed(st.timestamp_s)  # e.g. the embedder found no face in that frame
            else:
                sess.add_match_sample(st.timestamp_s, True, 0.3)
        if st.finished:
            break
    assert st.state is LivenessState.PASSED
    assert requests[1] - requests[0] < 0.2  # asked again on the next frame


def test_well_done_stays_up_after_a_challenge_then_gives_way(data_dir: Path) -> None:
    from kiosk.liveness.session import WELL_DONE_SHOW_S
    from kiosk.liveness.types import Hint

    cfg = LivenessConfig()
    sess = LivenessSession(cfg, specs_for(["smile", "turn_left"], cfg), mirrored=False)
    st, seen = play(sess, observations(data_dir, WEBCAM))
    assert st.state is LivenessState.PASSED, st.detail
    smiled = outcome_done_s(sess, "smile")
    turned = outcome_done_s(sess, "turn_left")
    praise = [s for s in seen if smiled <= s.timestamp_s < smiled + WELL_DONE_SHOW_S]
    after = [s for s in seen if smiled + WELL_DONE_SHOW_S <= s.timestamp_s < turned]
    # about 1 s of frames (this clip runs at about 16 fps), not the single frame it used to be
    assert len(praise) >= 10 and all(s.hint is Hint.WELL_DONE for s in praise), praise
    # then the next challenge's own hint comes back before he turns
    assert after and after[0].hint is Hint.TURN_LEFT, after[:3]
    assert Hint.WELL_DONE not in {s.hint for s in after}
