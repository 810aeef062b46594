"""The source URI parser and the factory's handling of configs, dicts and URIs (no media needed)."""

from __future__ import annotations

import pytest

from kiosk.camera.factory import build_source, find_actor, parse_source_uri
from kiosk.clock import FakeClock
from kiosk.config.camera import (
    ActorCamera,
    DirCamera,
    FileCamera,
    GstCamera,
    OpenCVCamera,
    Picamera2Camera,
)
from kiosk.errors import CameraError, ConfigError


@pytest.mark.parametrize(
    ("uri", "cls", "fields"),
    [
        ("picamera2", Picamera2Camera, {"camera_num": 0}),
        ("picamera2:1", Picamera2Camera, {"camera_num": 1}),
        ("opencv", OpenCVCamera, {"device": 0, "device_path": None}),
        ("opencv:3", OpenCVCamera, {"device": 3}),
        ("opencv:/dev/video2", OpenCVCamera, {"device_path": "/dev/video2"}),
        ("opencv:clips/a b.mp4", OpenCVCamera, {"device_path": "clips/a b.mp4"}),
        ("file:liveness_videos/x.mp4", FileCamera, {"path": "liveness_videos/x.mp4", "realtime": True}),
        (
            "file:/tmp/x.gif?realtime=0&loop=1",
            FileCamera,
            {"path": "/tmp/x.gif", "realtime": False, "loop": True},
        ),
        ("file:odd?name.mp4", FileCamera, {"path": "odd?name.mp4"}),
        ("dir:frames?fps=5", DirCamera, {"path": "frames", "fps": 5.0}),
        ("actor:krzysiek", ActorCamera, {"scenario": "krzysiek", "realtime": True}),
        (
            "actor:config/scenarios/blinker.yaml?realtime=false&seed=7",
            ActorCamera,
            {"realtime": False, "seed": 7},
        ),
        (
            "GST:videotestsrc ! videoconvert ! appsink",
            GstCamera,
            {"pipeline": "videotestsrc ! videoconvert ! appsink"},
        ),
    ],
)
def test_parse_source_uri(uri: str, cls: type, fields: dict) -> None:
    cfg = parse_source_uri(uri)
    assert isinstance(cfg, cls)
    for key, value in fields.items():
        assert getattr(cfg, key) == value, key


def test_faults_option() -> None:
    cfg = parse_source_uri("file:a.mp4?faults=drop@5+3,dim@1.5+2:0.4")
    assert [(f.kind, f.at_s, f.duration_s) for f in cfg.faults] == [("drop", 5.0, 3.0), ("dim", 1.5, 2.0)]
    assert cfg.faults[1].level == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("uri", "needle"),
    [
        ("webcam:0", "unknown camera source"),
        ("file:", "needs a value"),
        ("actor:", "needs a value"),
        ("picamera2:front", "picamera2:N"),
        ("opencv:99", "device"),
        ("file:a.mp4?faults=drop@5", "bad fault"),
        ("file:a.mp4?faults=melt@1+2", "faults"),
        ("dir:x?fps=0", "fps"),
    ],
)
def test_bad_uris_are_config_errors(uri: str, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_source_uri(uri)
    assert needle in str(err.value)


def test_factory_accepts_models_dicts_and_uris() -> None:
    clock = FakeClock()
    assert build_source(OpenCVCamera(device=1), clock=clock).info.name == "opencv:/dev/video1"
    assert build_source({"type": "file", "path": "x.mp4"}, clock=clock).info.name == "file:x.mp4"
    assert build_source("dir:frames", clock=clock).info.name == "dir:frames"
    with pytest.raises(ConfigError):
        build_source({"type": "file"}, clock=clock)
    with pytest.raises(ConfigError):
        build_source(42, clock=clock)


def test_unknown_scenario_is_reported_at_build_time() -> None:
    with pytest.raises(CameraError) as err:
        build_source("actor:no_such_applicant", clock=FakeClock())
    assert err.value.code == "scenario_not_found"
    assert "krzysiek" in str(err.value)  # the message lists the known scenarios


def test_find_actor_through_wrappers() -> None:
    src = build_source("actor:astronaut?faults=black@1+1", clock=FakeClock())
    actor = find_actor(src)
    assert actor is not None and actor.scenario.name == "astronaut"
    assert find_actor(build_source("opencv:0", clock=FakeClock())) is None
