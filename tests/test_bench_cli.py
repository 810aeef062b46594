"""``ekyc-kiosk bench``: the quick run completes in a subprocess and reports every figure with the right
type (never a speed: figures depend on the machine and its load), and bad arguments are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

FLOAT_KEYS = (
    "landmarks_ms_per_frame",
    "landmarks_p95_ms",
    "landmarks_fps",
    "embed_int8_ms",
    "session_realtime_factor",
    "session_realtime_factor_with_load",
    "peak_rss_mb",
    "cold_start_s",
    "verify_ms",
    "document_ms_per_frame",
)
#: Figures that need dlib (a dev dependency): null without it.
DLIB_KEYS = ("embed_int8_speedup_vs_dlib", "landmarks_speedup_vs_dlib", "verify_speedup_vs_dlib")


def _bench(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.setdefault("SDL_VIDEODRIVER", "dummy")
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "bench", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _is_num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def test_quick_json_has_every_figure(tmp_path: Path) -> None:
    out_file = tmp_path / "bench.json"
    proc = _bench("--quick", "--json", "--out", str(out_file))
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout[-2000:]  # one JSON object, nothing else on stdout
    rep = json.loads(lines[0])
    assert json.loads(out_file.read_text()) == rep
    assert rep["quick"] is True and rep["errors"] == {}
    for key in FLOAT_KEYS:
        assert _is_num(rep[key]), (key, rep[key])
    try:
        import dlib  # noqa: F401

        has_dlib = True
    except ImportError:
        has_dlib = False
    assert rep["dlib"] is has_dlib
    for key in DLIB_KEYS:
        assert _is_num(rep[key]) if has_dlib else rep[key] is None, (key, rep[key])
    assert rep["embed_int8_threads"] in (1, 2)
    m = rep["machine"]
    assert isinstance(m["cpu_model"], str) and m["cpu_model"]
    assert isinstance(m["cores"], int) and m["cores"] >= 1
    assert isinstance(m["python"], str)
    for lib in ("mediapipe", "ai-edge-litert", "numpy", "opencv"):
        assert isinstance(m["libraries"][lib], str), lib
    assert (m["libraries"]["dlib"] is not None) is has_dlib
    targets = {t["key"]: t for t in rep["targets"]}
    assert set(targets) == {
        "landmarks_ms_per_frame",
        "embed_int8_speedup_vs_dlib",
        "session_realtime_factor",
        "peak_rss_mb",
        "cold_start_s",
    }
    for t in targets.values():
        assert t["passed"] in (True, False) if t["value"] is not None else t["passed"] is None
    # every stage ran and says what it ran on
    assert set(rep["stages"]) == {"landmarks", "document", "embed", "verify", "session", "coldstart"}
    doc = rep["stages"]["document"]
    assert [r["analysis_width_px"] for r in doc["rows"]] == [640, 480]  # the default first
    assert all(r["captured_after_s"] is not None for r in doc["rows"]), doc  # the held card was captured
    assert rep["stages"]["session"]["runs"][0]["decision"] in ("approved", "rejected")
    cold = rep["stages"]["coldstart"]
    # the whole-session process says what its resident memory was made of at exit; neither part can exceed
    # its peak (nor be zero: it loaded models privately and mapped the libraries' code)
    for part in ("exit_rss_anon_mb", "exit_rss_file_mb"):
        assert _is_num(cold[part]) and 0 < cold[part] <= rep["peak_rss_mb"], (part, cold)
    if rep["data_dir"] is None:
        assert rep["missing"] and rep["applicant"]["name"] == "astronaut"
    else:
        assert rep["applicant"]["name"] == "krzysiek"
        assert rep["stages"]["session"]["runs"][0]["decision"] == "approved"


@pytest.mark.parametrize(
    "args",
    [("--only", "nonsense"), ("--only", "soak"), ("--soak", "-1")],
)
def test_bad_arguments_are_refused(args: tuple[str, ...]) -> None:
    proc = _bench(*args, timeout=60)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "ekyc-kiosk bench:" in proc.stderr
    assert proc.stdout == ""


def test_short_soak_reports_process_figures_and_decisions() -> None:
    proc = _bench("--only", "soak", "--soak", "2", "--json")
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # 1: the soak itself failed (reported below)
    rep = json.loads(proc.stdout)
    assert rep["stages"] == {} and rep["errors"] == {}
    s = rep["soak"]
    assert s["sessions_requested"] == 2 and s["sessions_done"] == 2
    assert sum(s["decisions"].values()) == 2
    for end in ("start", "end"):
        sample = s[end]
        assert _is_num(sample["rss_mb"]) and sample["rss_mb"] > 0
        assert isinstance(sample["fds"], int) and isinstance(sample["threads"], int)
    assert (s["start"]["sessions_done"], s["end"]["sessions_done"]) == (1, 2)
    assert set(s["growth"]) == {"rss_mb", "fds", "threads"}
    assert s["ok"] == (not s["leaks"] and (not s["bona_fide"] or not s["failures"]))
    assert (proc.returncode == 0) is s["ok"]
    for f in s["failures"]:
        assert f["decision"] != "approved" and isinstance(f["reasons"], list)
