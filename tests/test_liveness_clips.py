"""Liveness detectors on real clips from ../shared/data, with golden event times and tolerances.

Golden times come from the clips' events.csv rows that were checked by eye (see MANIFEST sections 7
and 12); the tolerance is 0.2 s unless stated (one or two frames plus the hysteresis of the
detector: events start at the first frame past the "on" level and end at the first frame back
under the "off" level).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from kiosk.config.liveness import LivenessConfig
from kiosk.liveness.analysis import analyze_observations, landmark_video
from kiosk.liveness.types import Event
from kiosk.liveness.video import read_frames
from kiosk.perception.types import FrameObservation

TOL_S = 0.2
_OBS: dict[tuple[str, float, float | None], list[FrameObservation]] = {}


def observations(
    data_dir: Path, rel: str, start: float = 0.0, end: float | None = None
) -> list[FrameObservation]:
    key = (rel, start, end)
    if key not in _OBS:
        path = data_dir / rel
        if not path.is_file():
            pytest.skip(f"clip absent: {rel}")
        _OBS[key] = landmark_video(read_frames(path, start_s=start, end_s=end))
    return _OBS[key]


def events_of(
    data_dir: Path,
    rel: str,
    start: float = 0.0,
    end: float | None = None,
    *,
    mirrored: bool = False,
    kinds: tuple[str, ...] = (),
) -> list[Event]:
    _, _, events = analyze_observations(
        observations(data_dir, rel, start, end), LivenessConfig(), mirrored=mirrored
    )
    return [e for e in events if not kinds or e.event in kinds]


def test_gif_timestamps_come_from_the_file(data_dir: Path) -> None:
    frames = list(read_frames(data_dir / "liveness_videos/headpose_sample.gif", end_s=1.0))
    times = [t for _, t in frames]
    assert len(frames) == 11  # 10 fps GIF, 0.0 .. 1.0 s
    assert times[0] == pytest.approx(0.0) and times[-1] == pytest.approx(1.0, abs=1e-6)
    assert all(b > a for a, b in itertools.pairwise(times))
    assert frames[0][0].shape == (220, 400, 3)


def test_blinks_counted_and_long_closure_not(data_dir: Path) -> None:
    """blink_detector_video.mp4 0-8.5 s: four short blinks (0.42, 1.68, 3.48, 4.65 s) then eyes held
    shut 5.78-8.09 s, which must not count as a blink."""
    ev = events_of(
        data_dir, "liveness_videos/blink_detector_video.mp4", 0.0, 8.5, kinds=("blink", "eyes_closed_long")
    )
    blinks = [e for e in ev if e.event == "blink"]
    longs = [e for e in ev if e.event == "eyes_closed_long"]
    assert [round(e.start_s, 1) for e in blinks] == pytest.approx([0.42, 1.68, 3.48, 4.65], abs=TOL_S)
    assert all(e.end_s - e.start_s <= 0.5 for e in blinks)
    assert len(longs) == 1
    assert longs[0].start_s == pytest.approx(5.78, abs=TOL_S)
    assert longs[0].end_s == pytest.approx(8.09, abs=0.3)


def test_smile_on_liveportrait_d0(data_dir: Path) -> None:
    """d0.mp4: neutral, then a big smile 0.8-2.6 s."""
    smiles = events_of(data_dir, "liveness_videos2/liveportrait/d0.mp4", kinds=("smile",))
    assert len(smiles) == 1
    assert smiles[0].start_s == pytest.approx(0.8, abs=TOL_S)
    assert smiles[0].end_s == pytest.approx(2.64, abs=TOL_S)
    assert smiles[0].peak > 0.6


def test_turns_on_webcam_clip_in_the_persons_own_direction(data_dir: Path) -> None:
    """webcam_krzysiek/real.mp4 (checked by eye): nose toward image-right 2.4-3.2 s, image-left
    3.4-4.1 s. The camera image is not mirrored, so the first is the man's own LEFT turn."""
    turns = events_of(
        data_dir, "liveness_videos2/webcam_krzysiek/real.mp4", kinds=("turn_left", "turn_right")
    )
    assert [(e.event, e.image_direction) for e in turns] == [
        ("turn_left", "nose_to_image_right"),
        ("turn_right", "nose_to_image_left"),
    ]
    assert turns[0].start_s == pytest.approx(2.4, abs=TOL_S) and turns[0].end_s == pytest.approx(
        3.2, abs=TOL_S
    )
    assert turns[1].start_s == pytest.approx(3.35, abs=TOL_S) and turns[1].end_s == pytest.approx(
        4.2, abs=TOL_S
    )
    assert turns[0].peak > 25 and turns[1].peak < -25  # degrees; + = nose to image right


def test_mirrored_video_swaps_own_direction_not_image_direction(data_dir: Path) -> None:
    turns = events_of(
        data_dir,
        "liveness_videos2/webcam_krzysiek/real.mp4",
        mirrored=True,
        kinds=("turn_left", "turn_right"),
    )
    assert [(e.event, e.image_direction) for e in turns] == [
        ("turn_right", "nose_to_image_right"),
        ("turn_left", "nose_to_image_left"),
    ]


def test_head_pose_sign_conventions_on_headpose_gif(data_dir: Path) -> None:
    """headpose_sample.gif: nose to image-right 0.5-1.4 s, image-left 1.7-2.8 s, head up 3.4-4.2 s,
    down about 5.0 s, roll clockwise (the clip's overlay says +33) about 6.5 s."""
    obs = observations(data_dir, "liveness_videos/headpose_sample.gif")
    pose = {round(o.timestamp_s, 1): o.primary.pose for o in obs if o.primary is not None and o.primary.pose}
    assert pose[1.0].yaw_deg > 25
    assert pose[2.2].yaw_deg < -25
    assert pose[3.8].pitch_deg > 25
    assert pose[5.0].pitch_deg < -20
    assert pose[6.6].roll_deg > 25
    assert pose[7.8].roll_deg < -25


def test_nods_on_webcam_clip(data_dir: Path) -> None:
    """Chin up 4.4-5.5 s and looking down 5.6-6.8 s: each goes out and comes back."""
    nods = events_of(data_dir, "liveness_videos2/webcam_krzysiek/real.mp4", kinds=("nod",))
    dirs = [(e.image_direction, round(e.start_s, 1)) for e in nods]
    assert [d for d, _ in dirs] == ["up_first", "down_first"]
    assert nods[0].start_s == pytest.approx(4.3, abs=0.3) and nods[1].end_s == pytest.approx(6.7, abs=0.3)


def test_mouth_open_on_liveportrait_d18(data_dir: Path) -> None:
    """d18.mp4 (checked by eye): a round "O" 2.1-3.2 s and a wide-open yell 3.9-5.2 s."""
    ev = events_of(data_dir, "liveness_videos2/liveportrait/d18.mp4", 1.8, 5.6, kinds=("mouth_open",))
    spans = [(e.start_s, e.end_s) for e in ev]
    assert any(abs(a - 2.1) <= 0.3 and abs(b - 3.2) <= 0.3 for a, b in spans)
    assert any(abs(a - 3.95) <= 0.3 and abs(b - 5.2) <= 0.3 for a, b in spans)


def test_analyze_command_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kiosk.cli import main

    rc = main(["analyze", str(data_dir / "liveness_videos2/liveportrait/d0.mp4"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert out["fps"] == pytest.approx(25.0) and out["frames"] == 78
    assert {"event", "start_s", "end_s"} <= set(out["events"][0])
    assert [e["event"] for e in out["events"] if e["event"] == "smile"] == ["smile"]
    assert len(out["signals"]) == 78 and "eye_open" in out["signals"][0]


def test_analyze_command_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kiosk.cli import main

    bad = tmp_path / "not_a_video.mp4"
    bad.write_bytes(b"this is not a video")
    assert main(["analyze", str(bad)]) == 2
    assert "cannot decode video" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "missing.mp4")]) == 2
    assert "not found" in capsys.readouterr().err
