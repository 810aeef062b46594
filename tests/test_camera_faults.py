"""Fault injection around real sources, and ReopeningSource turning outages into one CameraLost."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from kiosk.camera.factory import open_source, resilient_source
from kiosk.camera.faults import FaultySource
from kiosk.camera.reopening import ReopeningSource
from kiosk.camera.source import SourceInfo
from kiosk.clock import FakeClock
from kiosk.config.camera import FaultSpec, FileCamera
from kiosk.errors import CameraLost

GIF = "liveness_videos/headpose_sample.gif"  # 10 fps, 8.8 s
T0 = 100.0


def run(src, clock: FakeClock, until_s: float, step_s: float = 0.1) -> list[tuple[float, str, object]]:
    """Read once per clock step; log (time since T0, 'frame' | 'none' | 'lost', frame or error)."""
    log: list[tuple[float, str, object]] = []
    start = clock.now()
    for i in range(round(until_s / step_s)):
        clock.set(start + i * step_s)  # no accumulated rounding: t lands exactly on fault edges
        t = round(clock.now() - T0, 3)
        try:
            f = src.read(0.0)
            log.append((t, "frame" if f is not None else "none", f))
        except CameraLost as exc:
            log.append((t, "lost", exc))
    return log


def faulty_gif(data_dir: Path, clock: FakeClock, *faults: FaultSpec, loop: bool = True) -> FaultySource:
    inner = open_source(FileCamera(path=str(data_dir / GIF), loop=loop), clock=clock)
    inner.close()  # the wrapper opens it
    return FaultySource(inner, faults, clock, frame_timeout_s=0.5, seed=3)


def test_drop_is_one_camera_lost_then_frames_again(data_dir: Path) -> None:
    clock = FakeClock(T0)
    faulty = faulty_gif(data_dir, clock, FaultSpec(kind="drop", at_s=1.0, duration_s=2.0))
    src = ReopeningSource(lambda: faulty, clock, reopen_interval_s=0.5)
    src.open()
    log = run(src, clock, until_s=5.0)
    lost = [t for t, kind, _ in log if kind == "lost"]
    assert lost == [pytest.approx(1.0)], "exactly one CameraLost, when the drop starts"
    during = [kind for t, kind, _ in log if 1.0 < t < 3.0]
    assert during and set(during) == {"none"}, "no frames and no more errors while the camera is gone"
    after = [(t, f) for t, kind, f in log if kind == "frame" and t >= 3.0]
    assert after and after[0][0] < 3.0 + 0.5 + 1e-6, "reopened within one reopen interval after the fault"
    assert after[0][1].meta.get("camera_back") is True
    assert not any(f.meta.get("camera_back") for _, f in after[1:])
    ts = [f.timestamp_s for _, kind, f in log if kind == "frame"]
    assert all(b > a for a, b in itertools.pairwise(ts)), "timestamps rise across the outage"
    assert src.losses == 1 and src.generation == 2


def test_drop_fault_from_a_uri_through_the_factory(data_dir: Path) -> None:
    clock = FakeClock(T0)
    src = resilient_source(f"file:{data_dir / GIF}?loop=1&reopen_interval_s=0.5&faults=drop@1+2", clock=clock)
    log = run(src, clock, until_s=4.0)
    kinds = [kind for _, kind, _ in log]
    assert kinds.count("lost") == 1
    assert kinds[-1] == "frame"
    src.close()


def test_drop_before_open_is_reported_at_the_first_read(data_dir: Path) -> None:
    clock = FakeClock(T0)
    faulty = faulty_gif(data_dir, clock, FaultSpec(kind="drop", at_s=0.0, duration_s=1.0))
    src = ReopeningSource(lambda: faulty, clock, reopen_interval_s=0.5)
    src.open()  # does not raise: the kiosk starts without a camera
    log = run(src, clock, until_s=2.0)
    assert log[0][1] == "lost"
    assert [k for _, k, _ in log].count("lost") == 1
    first_frame = next(f for _, k, f in log if k == "frame")
    assert first_frame.meta["camera_back"] is True


def test_stall_times_out_into_camera_lost(data_dir: Path) -> None:
    clock = FakeClock(T0)
    src = faulty_gif(data_dir, clock, FaultSpec(kind="stall", at_s=1.0, duration_s=5.0))
    src.open()
    log = run(src, clock, until_s=2.0)
    lost = [t for t, kind, _ in log if kind == "lost"]
    assert lost and 1.5 <= lost[0] <= 1.7, "frame_timeout_s (0.5 s) after the last frame"
    assert all(kind == "none" for t, kind, _ in log if 1.0 <= t < lost[0])


def test_freeze_black_dim_noise(data_dir: Path) -> None:
    clock = FakeClock(T0)
    src = faulty_gif(
        data_dir,
        clock,
        FaultSpec(kind="freeze", at_s=1.0, duration_s=1.0),
        FaultSpec(kind="black", at_s=3.0, duration_s=0.5),
        FaultSpec(kind="dim", at_s=4.0, duration_s=0.5, level=0.25),
        FaultSpec(kind="noise", at_s=5.0, duration_s=0.5, level=20.0),
    )
    src.open()
    log = {t: f for t, kind, f in run(src, clock, until_s=6.0) if kind == "frame"}
    before = log[0.9].rgb
    frozen = [log[t] for t in (1.0, 1.4, 1.9)]
    assert all(np.array_equal(f.rgb, before) for f in frozen), "freeze repeats the last good image"
    assert frozen[0].timestamp_s < frozen[1].timestamp_s < frozen[2].timestamp_s
    assert frozen[0].meta["faults"] == ["freeze"]
    assert not np.array_equal(log[2.1].rgb, before), "the video moves again"
    assert log[3.2].rgb.max() == 0
    assert log[4.2].rgb.mean() < 0.3 * log[3.9].rgb.mean()
    clean, noisy = log[4.9].rgb.astype(int), log[5.2].rgb.astype(int)
    # 20 grey levels of noise on a 10 fps clip: the frame-to-frame change jumps.
    assert (
        np.abs(noisy - clean).mean() > 2 * np.abs(log[5.9].rgb.astype(int) - log[5.8].rgb.astype(int)).mean()
    )


def test_unexpected_driver_exception_becomes_camera_lost() -> None:
    class Exploding:
        info = SourceInfo("exploding", 64, 48, 10.0, is_live=True)
        opened = 0

        def open(self) -> None:
            self.opened += 1

        def read(self, timeout_s: float = 0.0):
            raise RuntimeError("driver bug")

        def close(self) -> None:
            pass

    clock = FakeClock()
    bad = Exploding()
    src = ReopeningSource(lambda: bad, clock, 1.0)  # type: ignore[arg-type,return-value]
    src.open()
    with pytest.raises(CameraLost) as err:
        src.read()
    assert "driver bug" in str(err.value)
    assert src.read() is None
    with pytest.raises(ValueError):
        ReopeningSource(lambda: bad, clock, 0.0)  # type: ignore[arg-type,return-value]
