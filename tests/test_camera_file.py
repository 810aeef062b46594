"""File and folder sources on real media: every container, monotonic timestamps, a clean end."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.camera.dir_source import DirSource
from kiosk.camera.factory import open_source
from kiosk.camera.file_source import FileSource
from kiosk.camera.source import FrameSource, SourceEnded
from kiosk.clock import FakeClock, MonotonicClock
from kiosk.config.camera import DirCamera, FileCamera
from kiosk.errors import CameraError

T0 = 50.0

# (path under the data dir, frame count, media duration of the last frame in s) from MANIFEST.md.
CLIPS = [
    ("liveness_videos/blink_detector_video.mp4", 334, 14.0),
    ("liveness_videos/headpose_sample.gif", 88, 8.8),
    ("liveness_videos2/lipnet_grid/bbaf2n.mpg", 75, 3.0),
    ("liveness_videos2/anti_spoofing_zubair/real.mov", 199, 13.3),
]


def drain(src: FrameSource, limit: int = 5000) -> list:
    frames = []
    for _ in range(limit):
        try:
            f = src.read(0.0)
        except SourceEnded:
            return frames
        assert f is not None, "a non-realtime source never says 'not yet'"
        frames.append(f)
    raise AssertionError("source did not end")


@pytest.mark.parametrize(("rel", "count", "duration_s"), CLIPS, ids=[Path(c[0]).suffix for c in CLIPS])
def test_file_source_plays_every_frame_then_ends(
    data_dir: Path, rel: str, count: int, duration_s: float
) -> None:
    src = FileSource(FileCamera(path=str(data_dir / rel), realtime=False), FakeClock(T0))
    src.open()
    frames = drain(src)
    assert len(frames) == count
    ts = np.array([f.timestamp_s for f in frames])
    assert ts[0] == pytest.approx(T0)
    assert np.all(np.diff(ts) > 0), "timestamps must strictly increase"
    period = 1.0 / src.info.fps
    assert ts[-1] - T0 == pytest.approx(duration_s - period, abs=2.5 * period)
    assert [f.index for f in frames] == list(range(count))
    f = frames[len(frames) // 2]
    assert f.rgb.dtype == np.uint8 and f.rgb.ndim == 3 and f.rgb.shape[2] == 3
    assert f.width <= 640 and f.height <= 480 and (f.width, f.height) == src.info.size
    with pytest.raises(SourceEnded):  # the end is sticky
        src.read(0.0)
    src.close()
    src.close()  # idempotent


def test_file_source_realtime_on_fake_clock(data_dir: Path) -> None:
    clock = FakeClock(T0)
    src = open_source(f"file:{data_dir / 'liveness_videos/headpose_sample.gif'}", clock=clock)  # 10 fps
    first = src.read(5.0)
    assert first is not None and first.timestamp_s == pytest.approx(T0)
    assert src.read(5.0) is None, "with a fake clock nothing new is due until the clock moves"
    clock.advance(0.1)
    second = src.read()
    assert second is not None and second.timestamp_s == pytest.approx(T0 + 0.1, abs=0.02)
    clock.advance(1.0)
    late = src.read()
    assert late is not None
    assert late.meta["dropped"] >= 8, "a late reader gets the newest frame, not a backlog"
    assert clock.now() - 0.1 < late.timestamp_s <= clock.now()
    src.close()


def test_file_source_realtime_on_real_clock(data_dir: Path) -> None:
    src = open_source(f"file:{data_dir / 'liveness_videos2/lipnet_grid/bbaf2n.mpg'}", clock=MonotonicClock())
    got = [src.read(1.0) for _ in range(4)]
    src.close()
    assert all(f is not None for f in got), "pacing sleeps on a real clock until the next frame is due"
    ts = [f.timestamp_s for f in got if f is not None]
    assert ts == sorted(ts) and len(set(ts)) == 4


def test_file_source_loop_keeps_time_rising(data_dir: Path) -> None:
    gif = data_dir / "liveness_videos/headpose_sample.gif"
    src = open_source(FileCamera(path=str(gif), realtime=False, loop=True), clock=FakeClock(T0))
    frames = [src.read(0.0) for _ in range(88 + 12)]
    src.close()
    ts = np.array([f.timestamp_s for f in frames if f is not None])
    assert len(ts) == 100 and np.all(np.diff(ts) > 0)
    assert frames[87] is not None and frames[88] is not None
    assert frames[87].meta["loop"] == 0 and frames[88].meta["loop"] == 1
    assert frames[88].timestamp_s - frames[87].timestamp_s == pytest.approx(0.1, abs=0.02)


def test_file_source_scale_to_fit_keeps_aspect(data_dir: Path) -> None:
    mov = data_dir / "liveness_videos2/anti_spoofing_zubair/real.mov"  # 960x540
    src = open_source(FileCamera(path=str(mov), realtime=False), clock=FakeClock())
    f = src.read(0.0)
    assert f is not None and (f.width, f.height) == (640, 360)
    src.close()
    big = open_source(FileCamera(path=str(mov), realtime=False, scale_to_fit=False), clock=FakeClock())
    g = big.read(0.0)
    assert g is not None and (g.width, g.height) == (960, 540)
    big.close()


def test_file_source_errors(tmp_path: Path) -> None:
    with pytest.raises(CameraError) as err:
        open_source(f"file:{tmp_path / 'missing.mp4'}", clock=FakeClock())
    assert err.value.code == "media_not_found"
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(CameraError):
        open_source(f"file:{junk}", clock=FakeClock())


def _image_folder(data_dir: Path, tmp_path: Path) -> Path:
    """frame1.jpg, frame2.jpg, frame3.png, frame10.jpg (+ a text file) built from LFW images."""
    people = sorted((data_dir / "lfw_devtrain/images").iterdir())[:4]
    jpgs = [next(p.glob("*.jpg")) for p in people]
    folder = tmp_path / "frames"
    folder.mkdir()
    shutil.copy(jpgs[0], folder / "frame1.jpg")
    shutil.copy(jpgs[1], folder / "frame2.jpg")
    cv2.imwrite(str(folder / "frame3.png"), cv2.imread(str(jpgs[2])))
    shutil.copy(jpgs[3], folder / "frame10.jpg")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_dir_source_natural_order_timestamps_and_end(data_dir: Path, tmp_path: Path) -> None:
    folder = _image_folder(data_dir, tmp_path)
    src = DirSource(DirCamera(path=str(folder), fps=5, realtime=False), FakeClock(T0))
    src.open()
    frames = drain(src)
    assert [f.meta["file"] for f in frames] == ["frame1.jpg", "frame2.jpg", "frame3.png", "frame10.jpg"]
    assert [f.timestamp_s for f in frames] == pytest.approx([T0, T0 + 0.2, T0 + 0.4, T0 + 0.6])
    assert frames[0].rgb.shape == (250, 250, 3)
    # The PNG was written from the same pixels as LFW's JPEG: the channel order must survive.
    third = cv2.cvtColor(cv2.imread(str(folder / "frame3.png")), cv2.COLOR_BGR2RGB)
    assert np.array_equal(frames[2].rgb, third)
    with pytest.raises(SourceEnded):
        src.read()
    src.close()


def test_dir_source_loop_and_realtime(data_dir: Path, tmp_path: Path) -> None:
    folder = _image_folder(data_dir, tmp_path)
    clock = FakeClock(T0)
    src = open_source(DirCamera(path=str(folder), fps=10, loop=True), clock=clock)
    assert src.read() is not None
    assert src.read() is None
    clock.advance(0.55)  # images 1..5 are due: the newest (frame number 5 = 2nd pass, 2nd image) wins
    f = src.read()
    assert f is not None and f.meta["loop"] == 1 and f.meta["file"] == "frame2.jpg"
    assert f.timestamp_s == pytest.approx(T0 + 0.5) and f.meta["dropped"] == 4
    src.close()


def test_dir_source_errors(data_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CameraError) as err:
        open_source(f"dir:{empty}", clock=FakeClock())
    assert "no images" in str(err.value)
    folder = _image_folder(data_dir, tmp_path)
    (folder / "frame4.jpg").write_bytes(b"\xff\xd8 truncated")
    src = open_source(DirCamera(path=str(folder), realtime=False), clock=FakeClock())
    with pytest.raises(CameraError) as bad:
        for _ in range(5):
            src.read()
    assert "frame4.jpg" in str(bad.value)


def test_realtime_reader_far_behind_is_reanchored(data_dir: Path) -> None:
    clock = FakeClock(T0)
    gif = data_dir / "liveness_videos/headpose_sample.gif"  # 10 fps
    src = open_source(FileCamera(path=str(gif), loop=True), clock=clock)
    first = src.read()
    clock.advance(3600.0)  # an hour behind: do not decode an hour of looping video
    late = src.read()
    assert first is not None and late is not None
    assert late.timestamp_s == pytest.approx(clock.now()) and late.meta["dropped"] <= 21
    assert src.read() is None
    clock.advance(0.1)
    nxt = src.read()
    assert nxt is not None and nxt.timestamp_s == pytest.approx(clock.now(), abs=0.02)
    src.close()
