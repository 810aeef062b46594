"""The liveness benchmark function runs the real landmarker and session on real frames."""

from __future__ import annotations

from pathlib import Path

from kiosk.liveness.bench import bench_liveness, load_bench_frames


def test_bench_liveness_reports_costs(data_dir: Path) -> None:
    frames, source = load_bench_frames(max_frames=12)
    assert frames[0].shape == (480, 640, 3) and "webcam_krzysiek" in source
    res = bench_liveness(frames, n_frames=12, warmup=2)
    d = res.as_dict()
    assert res.frames == 12 and (res.width, res.height) == (640, 480)
    assert res.landmarker_ms_mean > 0 and res.landmarker_ms_p95 > 0 and res.liveness_ms_mean > 0
    assert res.total_ms_mean >= res.landmarker_ms_mean
    assert res.fps_sustained > 0
    assert set(d) >= {"landmarker_ms_mean", "liveness_ms_p95", "fps_sustained"}
