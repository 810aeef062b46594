"""The virtual applicant on real clips: prompts, segments, neutral loop, timestamps, scenarios.

Scenario segment choices are checked with the real FaceLandmarker (turn directions, second face).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from kiosk.camera.actor import ActorMode, ActorSource, ImageActor
from kiosk.camera.actor_media import resolve_media_path
from kiosk.camera.actor_scenario import (
    SCENARIO_DIR,
    available_scenarios,
    load_scenario,
    parse_scenario_text,
)
from kiosk.camera.factory import find_actor, open_source, resilient_source
from kiosk.camera.frame import Frame
from kiosk.camera.source import SourceEnded
from kiosk.clock import FakeClock
from kiosk.config.loader import ConfigValidationError
from kiosk.errors import CameraLost
from kiosk.paths import models_dir
from kiosk.perception.landmarker import FaceLandmarker, LandmarkerOptions, RunningMode

T0 = 1000.0


@pytest.fixture(scope="module")
def landmarker():
    lm = FaceLandmarker(LandmarkerOptions(models_dir() / "face_landmarker.task", mode=RunningMode.IMAGE))
    yield lm
    lm.close()


def actor(name: str, clock: FakeClock, **kw) -> ActorSource:
    a = ActorSource(load_scenario(name), clock, seed=1, **kw)
    a.open()
    return a


def read_n(src, n: int) -> list[Frame]:
    out = []
    for _ in range(n):
        f = src.read(0.0)
        assert f is not None
        out.append(f)
    return out


def rising(frames: list[Frame]) -> bool:
    ts = [f.timestamp_s for f in frames]
    return all(b > a for a, b in itertools.pairwise(ts))


def test_neutral_loops_forward_and_back(data_dir: Path) -> None:
    a = actor("krzysiek", FakeClock(T0), realtime=False)
    frames = read_n(a, 60)  # about 3.7 s of a 0.98 s neutral segment
    assert {f.meta["actor_mode"] for f in frames} == {"neutral"}
    c = np.array([f.meta["clip_time_s"] for f in frames])
    assert c.min() >= 0.0 and c.max() <= 0.98 + 0.07
    steps = np.diff(c)
    assert (steps > 0).any() and (steps < 0).any(), "plays forward, then backward"
    assert np.abs(steps).max() < 0.3, "no jump at the ends of the loop (at most one missing source frame)"
    assert rising(frames) and frames[0].timestamp_s == pytest.approx(T0)
    assert frames[1].timestamp_s - frames[0].timestamp_s == pytest.approx(1 / a.info.fps)


def test_prompt_plays_the_segment_once_then_neutral(data_dir: Path) -> None:
    clock = FakeClock(T0)
    a = actor("krzysiek", clock, realtime=False)
    before = read_n(a, 10)
    a.on_prompt("smile", clock.now())
    a.on_prompt("smile", clock.now())  # repeating the current prompt changes nothing
    after = read_n(a, 80)
    frames = before + after
    assert rising(frames)
    smiling = [f for f in after if f.meta["performing"] == "smile"]
    seg = a.scenario.responses["smile"]
    fps = a.info.fps
    assert abs(len(smiling) - seg.duration_s * fps) <= 2, "played once"
    assert all(seg.start_s - 0.07 <= f.meta["clip_time_s"] <= seg.end_s + 0.07 for f in smiling)
    delay = smiling[0].timestamp_s - before[-1].timestamp_s
    beh = a.scenario.behaviour
    assert beh.delay_s - 1 / fps <= delay <= beh.delay_s + beh.delay_jitter_s + 2 / fps
    idx = [i for i, f in enumerate(after) if f.meta["performing"] == "smile"]
    assert idx == list(range(idx[0], idx[-1] + 1)), "one contiguous performance"
    assert all(f.meta["actor_mode"] == "neutral" for f in after[idx[-1] + 1 :])


def test_unanswered_and_document_prompts(data_dir: Path) -> None:
    clock = FakeClock(T0)
    a = actor("krzysiek", clock, realtime=False)
    a.on_prompt("blink")  # krzysiek.yaml has no blink segment
    frames = read_n(a, 30)
    assert all(f.meta["actor_mode"] == "neutral" and f.meta["ignored"] == "blink" for f in frames)
    assert "blink" not in a.answerable and {"smile", "turn_left", "turn_right", "nod"} <= a.answerable
    neutral = frames[-1].rgb.astype(int)
    a.on_prompt("document")
    held = read_n(a, 30)
    assert held[-1].meta["actor_mode"] == "document" and a.mode is ActorMode.DOCUMENT
    assert np.abs(held[-1].rgb.astype(int) - neutral).mean() > 20, "the ID card covers much of the view"
    card = a.id_image()
    assert card.shape == (540, 856, 3)
    a.on_prompt(None)
    assert read_n(a, 1)[0].meta["actor_mode"] == "neutral"


def test_realtime_follows_the_fake_clock(data_dir: Path) -> None:
    clock = FakeClock(T0)
    a = actor("krzysiek", clock, realtime=True)
    fps = a.info.fps
    first = a.read(1.0)
    assert first is not None and first.timestamp_s == pytest.approx(T0)
    assert a.read(1.0) is None, "never sleeps on a fake clock: nothing new until it advances"
    clock.advance(1 / fps)
    nxt = a.read()
    assert nxt is not None and nxt.timestamp_s == pytest.approx(T0 + 1 / fps)
    a.on_prompt("turn_left", clock.now())
    clock.advance(1.2)  # reaction 0.6-0.9 s, then a 0.9 s turn: mid-turn now
    late = a.read()
    assert late is not None and late.meta["dropped"] > 15
    assert late.timestamp_s <= clock.now() and late.meta["performing"] == "turn_left"


def test_turn_segments_point_the_right_way(data_dir: Path, landmarker) -> None:
    """turn_left = own left = nose toward the image's right edge (yaw > 0) for this unmirrored clip."""
    clock = FakeClock(T0)
    a = actor("krzysiek", clock, realtime=False)
    peaks: dict[str, float] = {}
    for ch in ("turn_left", "turn_right"):
        a.on_prompt(ch)
        frames = [f for f in read_n(a, 40) if f.meta["performing"] == ch]
        yaws = [landmarker.detect(f.rgb).faces[0].pose.yaw_deg for f in frames[len(frames) // 3 :: 3]]
        peaks[ch] = max(yaws, key=abs)
        a.on_prompt(None)
    assert peaks["turn_left"] > 20 and peaks["turn_right"] < -20
    neutral = read_n(a, 30)[-1]
    assert abs(landmarker.detect(neutral.rgb).faces[0].pose.yaw_deg) < 8


def test_second_person_appears_during_the_named_challenge(data_dir: Path, landmarker) -> None:
    a = actor("krzysiek_second_person", FakeClock(T0), realtime=False)
    calm = read_n(a, 5)[-1]
    assert len(landmarker.detect(calm.rgb).faces) == 1 and not calm.meta["second_person"]
    a.on_prompt("turn_left")
    during = [f for f in read_n(a, 30) if f.meta["second_person"]]
    assert during and all(f.meta["performing"] == "turn_left" for f in during)
    assert len(landmarker.detect(during[0].rgb).faces) == 2


def test_wrong_turn_plays_the_other_segment(data_dir: Path) -> None:
    a = actor("krzysiek_wrong_turn", FakeClock(T0), realtime=False)
    a.on_prompt("turn_left")
    doing = [f for f in read_n(a, 40) if f.meta["performing"] is not None]
    assert doing and {(f.meta["asked"], f.meta["performing"]) for f in doing} == {("turn_left", "turn_right")}


def test_camera_drop_scenario_through_a_resilient_source(data_dir: Path) -> None:
    clock = FakeClock(T0)
    src = resilient_source("actor:krzysiek_camera_drop?reopen_interval_s=1", clock=clock)
    assert find_actor(src) is not None
    events: list[tuple[float, str, Frame | None]] = []
    for i in range(150):  # 15 s in 0.1 s steps
        clock.set(T0 + i * 0.1)
        try:
            f = src.read(0.0)
            events.append((i * 0.1, "frame" if f else "none", f))
        except CameraLost:
            events.append((i * 0.1, "lost", None))
    lost = [t for t, k, _ in events if k == "lost"]
    assert len(lost) == 1 and lost[0] == pytest.approx(8.0)
    back = [(t, f) for t, _, f in events if f is not None and t > 8.0]
    assert back and 12.0 <= back[0][0] <= 13.0 and back[0][1].meta["camera_back"]
    # The applicant kept living during the outage: his stream time continued, not restarted.
    assert back[0][1].meta["stream_time_s"] >= 12.0
    frames = [f for _, _, f in events if f is not None]
    assert rising(frames)


def test_replay_and_print_attacks(data_dir: Path, landmarker) -> None:
    replay = actor("zubair_replay", FakeClock(T0), realtime=False)
    assert replay.answerable == frozenset()
    replay.on_prompt("smile")
    assert all(f.meta["actor_mode"] == "neutral" for f in read_n(replay, 20))
    assert replay.id_image().shape == (540, 856, 3)
    printed = actor("print_attack", FakeClock(T0), realtime=False)
    rest = read_n(printed, 3)[-1]
    printed.on_prompt("turn_left")
    tilted = max(read_n(printed, 40), key=lambda f: f.meta["tilt_deg"])
    assert tilted.meta["tilt_deg"] > 20
    yaw_rest = landmarker.detect(rest.rgb).faces[0].pose.yaw_deg
    yaw_tilted = landmarker.detect(tilted.rgb).faces[0].pose.yaw_deg
    assert yaw_tilted > yaw_rest, "the print's right edge goes away: the face turns toward image right"


def test_image_actor_needs_no_data(landmarker) -> None:
    a = ImageActor(FakeClock(T0), realtime=False, seed=5)
    a.open()
    frames = read_n(a, 10)
    assert frames[0].rgb.shape == (480, 640, 3) and a.info.fps == 15.0 and rising(frames)
    diffs = [np.abs(x.rgb.astype(int) - y.rgb.astype(int)).mean() for x, y in itertools.pairwise(frames)]
    assert all(0.5 < d < 15 for d in diffs), "camera noise and tremor: never identical, never a jump"
    again = ImageActor(FakeClock(T0), realtime=False, seed=5)
    again.open()
    assert np.array_equal(read_n(again, 3)[2].rgb, frames[2].rgb), "seeded: replays identically"
    a.on_prompt("smile")
    assert read_n(a, 20)[-1].meta["ignored"] == "smile", "a photo cannot answer"
    assert len(landmarker.detect(frames[0].rgb).faces) == 1
    card = a.id_image()
    assert card.shape == (540, 856, 3) and len(landmarker.detect(card).faces) == 1


def test_actor_uri_builtin_and_duration() -> None:
    clock = FakeClock(T0)
    src = open_source("actor:astronaut?realtime=0", clock=clock)
    assert find_actor(src) is src
    short = ActorSource(
        parse_scenario_text(
            "name: s\nphoto: {image: 'builtin:astronaut'}\noutput: {fps: 10, duration_s: 0.5}\n"
        ),
        clock,
        realtime=False,
    )
    short.open()
    assert len(read_n(short, 6)) == 6
    with pytest.raises(SourceEnded):
        short.read()


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "name: x\nclips: {a: v.mp4}\nneutral: {start_s: 0, end_s: 1}\n"
            "responses:\n  wink: {start_s: 1, end_s: 2}\n",
            5,
        ),
        ("name: x\nclips: {a: v.mp4}\nneutral: {start_s: 2, end_s: 1}\n", 3),
        ("name: x\nclips: {a: v.mp4}\nneutral: {start_s: 0, end_s: 1}\nbehaviour: {respond_to: some}\n", 4),
        ("name: x\nphoto: {image: a.jpg, tremor: 3}\n", 2),
    ],
)
def test_bad_scenarios_name_the_line(text: str, where: int) -> None:
    with pytest.raises(ConfigValidationError) as err:
        parse_scenario_text(text, "bad.yaml")
    assert any(i.line == where for i in err.value.issues), err.value


def test_shipped_scenarios_are_valid_and_their_media_exists(data_dir: Path) -> None:
    names = available_scenarios()
    assert {"krzysiek", "astronaut", "blinker", "zubair_replay", "print_attack"} <= set(names)
    for path in SCENARIO_DIR.glob("*.yaml"):
        sc = load_scenario(str(path))
        media = [c.path for c in sc.clips.values()] + [p.image for p in sc.second_person]
        if sc.photo is not None:
            media.append(sc.photo.image)
        if sc.id_image is not None and sc.id_image.path is not None:
            media.append(sc.id_image.path)
        for m in media:
            if not m.startswith("builtin:"):
                assert resolve_media_path(m, data_first=True).is_file(), (path.name, m)


def test_demo_actor_falls_back_to_the_image_actor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from kiosk.camera.actor import demo_actor

    monkeypatch.setenv("EKYC_DATA_DIR", str(tmp_path))  # no MANIFEST.md there: no data dir
    assert isinstance(demo_actor(FakeClock()), ImageActor)


def test_demo_actor_prefers_a_real_person(data_dir: Path) -> None:
    from kiosk.camera.actor import demo_actor

    a = demo_actor(FakeClock())
    assert a.scenario.name == "krzysiek" and not isinstance(a, ImageActor)


def test_wrappers_forward_the_actor_interface(data_dir: Path) -> None:
    """An app that calls ``source.on_prompt`` directly reaches the actor through fault and
    reopening wrappers, also while the camera is dropped."""
    clock = FakeClock(T0)
    src = resilient_source("actor:krzysiek_camera_drop?realtime=0", clock=clock)
    assert callable(getattr(src, "on_prompt", None)) and src.id_image().shape == (540, 856, 3)  # type: ignore[attr-defined]
    assert getattr(resilient_source("opencv:57", clock=clock), "on_prompt", None) is None
    src.on_prompt("smile", clock.now())  # type: ignore[attr-defined]
    frames = [src.read(0.0) for _ in range(40)]
    assert any(f is not None and f.meta["performing"] == "smile" for f in frames)


def test_held_card_looks_like_a_real_card() -> None:
    """``hold_up`` draws the card where ``card_pose_corners`` says, in perspective (the nearer edge
    longer), with rounded corners, a thumb over its right edge and motion blur."""
    import dataclasses

    from kiosk.camera.actor_render import CARD_H_PX, CARD_W_PX, HoldStyle, card_pose_corners, hold_up

    green = np.zeros((480, 640, 3), np.uint8)
    green[..., 1] = 200
    card = np.full((CARD_H_PX, CARD_W_PX, 3), (40, 60, 200), np.uint8)  # a plain blue card
    style = HoldStyle(yaw_deg=-10.0, pitch_deg=0.0, blur_px=0.0, shadow=0.0, light=0.0, edge_px=0)
    frame = hold_up(green, card, 0.6, 0.0, 0.0, 0.0, style).astype(int)
    c = card_pose_corners((640, 480), (CARD_W_PX, CARD_H_PX), 0.6, 0.0, 0.0, 0.0, -10.0, 0.0)
    left, right = np.linalg.norm(c[3] - c[0]), np.linalg.norm(c[2] - c[1])
    assert right > 1.05 * left, "yaw < 0 brings the right edge nearer: longer"

    def at(p: np.ndarray) -> np.ndarray:
        return frame[round(float(p[1])), round(float(p[0]))]

    centre = c.mean(axis=0)
    assert np.abs(at(centre) - (40, 60, 200)).max() <= 2
    inward = (centre - c[0]) / np.linalg.norm(centre - c[0])
    assert at(c[0] + 3.0 * inward)[1] > 150, "a rounded corner: the background shows at the sharp corner"
    assert at(c[0] + 25.0 * inward)[2] > 150, "... and the card a little further in"
    thumb = c[1] + 0.66 * (c[2] - c[1]) - (4.0, 0.0)  # on the card, at the right edge
    r, g, b = at(thumb)
    assert r > g > b and r > 120, "skin over the card's right edge"

    def edge_width(img: np.ndarray) -> int:
        """Pixels in transition between background and card across the left edge at mid-height."""
        y = round(float(centre[1]))
        x = round(float((c[0][0] + c[3][0]) / 2))
        row = img[y, x - 10 : x + 10, 2].astype(int)  # blue: 0 outside, 200 on the card
        return int(np.sum((row > 20) & (row < 180)))

    blurred = hold_up(green, card, 0.6, 0.0, 0.0, 0.0, dataclasses.replace(style, blur_px=5.0))
    assert edge_width(blurred) > edge_width(frame.astype(np.uint8)), "motion blur softens the edge"
