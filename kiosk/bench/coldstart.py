"""Cold start to the first camera frame on screen, and peak resident memory of the kiosk process.

Cold start: a fresh ``python -m kiosk.bench.first_frame_probe run --headless --source actor:astronaut
--sessions 1 --config CFG`` (``ekyc-kiosk run`` plus timing marks, see :mod:`.first_frame_probe`), camera
paced in real time as on the appliance (threaded perception, monotonic clock); seconds from just before
the parent spawns it to the end of the first render that shows a camera frame, after which it stops.

Peak memory: ``python -m kiosk.bench.first_frame_probe run --headless --source ACTOR --id-image ID
--sessions 1 --fast --config CFG`` (the same probe, not stopped) plays one whole session to its decision and
reports its own ``VmHWM`` at exit. (``ru_maxrss`` from ``os.wait4`` is kept in the JSON for reference but
overstates: Linux carries the parent's high-water mark into the child, see :mod:`.first_frame_probe`.)
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.bench.applicant import Applicant, write_config
from kiosk.bench.stats import Spread

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChildRun:
    """A finished child process: exit code, wall seconds, peak RSS (MiB), and its captured output."""

    returncode: int
    wall_s: float
    maxrss_mb: float
    stdout: str
    stderr_tail: str


def run_measured(
    cmd: list[str], *, env: dict[str, str], timeout_s: float, cwd: Path | None = None
) -> ChildRun:
    """Run ``cmd``, reap it with ``os.wait4`` for its own ``ru_maxrss``; kill it after ``timeout_s``."""
    import subprocess

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        status = 0
        usage: Any = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout_s:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting again
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    rss = round(usage.ru_maxrss / 1024.0, 1)  # KiB on Linux
    return ChildRun(proc.returncode, round(wall, 3), rss, stdout, stderr[-2000:])


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("SDL_VIDEODRIVER", "dummy")
    env.setdefault("SDL_AUDIODRIVER", "dummy")
    env.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    return env


@dataclass(frozen=True)
class ColdStartRun:
    """Seconds from spawn: to the probe running (interpreter + imports), to models loaded, to the first
    frame shown; the child's exit code and its own peak RSS (VmHWM, MiB) when it stopped."""

    cold_start_s: float | None
    interpreter_s: float | None
    build_s: float | None
    build_end_s: float | None
    returncode: int
    vm_hwm_mb: float | None
    error: str | None = None


@dataclass(frozen=True)
class ColdStartBench:
    command: str
    runs: list[ColdStartRun]
    cold_start_s: Spread | None
    peak_rss_command: str | None
    peak_rss_mb: float | None
    peak_rss_ru_maxrss_mb: float | None
    peak_rss_session_decision: str | None
    peak_rss_session_wall_s: float | None
    # What was resident at the end of that session: private (anon) vs mapped from files (shared libraries).
    exit_rss_anon_mb: float | None = None
    exit_rss_file_mb: float | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = dict(self.__dict__)
        d["runs"] = [r.__dict__ for r in self.runs]
        d["cold_start_s"] = self.cold_start_s.as_dict() if self.cold_start_s else None
        return d


def _probe(
    args: list[str], tmp: Path, *, stop: bool, timeout_s: float
) -> tuple[float, ChildRun, dict[str, Any]]:
    """Run the probe with ``args``; (spawn time, the finished child, its marks)."""
    from kiosk.bench.first_frame_probe import OUT_ENV, STOP_ENV

    marks_path = tmp / "marks.json"
    marks_path.unlink(missing_ok=True)
    env = _child_env()
    env[OUT_ENV] = str(marks_path)
    if stop:
        env[STOP_ENV] = "1"
    cmd = [sys.executable, "-m", "kiosk.bench.first_frame_probe", *args]
    spawn = time.time()
    child = run_measured(cmd, env=env, timeout_s=timeout_s)
    try:
        marks = json.loads(marks_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        marks = {}
    return spawn, child, marks


def _cold_start_once(cfg: Path, tmp: Path, timeout_s: float) -> ColdStartRun:
    spawn, child, marks = _probe(cold_start_args(cfg), tmp, stop=True, timeout_s=timeout_s)
    ff = marks.get("first_frame")

    def rel(key: str) -> float | None:
        return round(marks[key] - spawn, 3) if key in marks else None

    build = None
    if {"build_end", "build_start"} <= set(marks):
        build = round(marks["build_end"] - marks["build_start"], 3)
    err = None if ff is not None else f"no first frame (exit {child.returncode}): {child.stderr_tail[-300:]}"
    return ColdStartRun(
        rel("first_frame"),
        rel("probe_start"),
        build,
        rel("build_end"),
        child.returncode,
        marks.get("vm_hwm_mb"),
        err,
    )


def cold_start_args(cfg: Path) -> list[str]:
    return ["run", "--headless", "--source", "actor:astronaut", "--sessions", "1", "--config", str(cfg)]


def bench_cold_start(
    applicant: Applicant,
    *,
    repeats: int = 3,
    timeout_s: float = 120.0,
    peak_session: bool = True,
    progress: Callable[[str], None] | None = None,
) -> ColdStartBench:
    """``repeats`` cold starts, then (``peak_session``) one whole session of ``applicant`` for peak RSS."""
    runs: list[ColdStartRun] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ekyc-bench-cold-") as tmp_s:
        tmp = Path(tmp_s)
        cfg = write_config(tmp / "bench.yaml", tmp / "records")
        for r in range(repeats):
            if progress:
                progress(f"cold start: {r + 1}/{repeats}")
            runs.append(_cold_start_once(cfg, tmp, timeout_s))
        peak_cmd: list[str] | None = None
        peak: ChildRun | None = None
        peak_marks: dict[str, Any] = {}
        decision: str | None = None
        if peak_session:
            if progress:
                progress(f"peak memory: one whole {applicant.name} session in a fresh process")
            peak_cmd = ["run", "--headless", "--source", applicant.source]
            if applicant.id_image is not None:
                peak_cmd += ["--id-image", str(applicant.id_image)]
            peak_cmd += ["--sessions", "1", "--fast", "--seed", "7", "--config", str(cfg)]
            _, peak, peak_marks = _probe(peak_cmd, tmp, stop=False, timeout_s=600.0)
            for line in peak.stdout.splitlines():
                try:
                    decision = json.loads(line).get("decision", decision)
                except ValueError:
                    continue
            if peak.returncode != 0:
                notes.append(f"peak-memory run exited {peak.returncode}: {peak.stderr_tail[-300:]}")
    ok = [r.cold_start_s for r in runs if r.cold_start_s is not None]
    notes.extend(r.error for r in runs if r.error)
    return ColdStartBench(
        command="python -m kiosk.bench.first_frame_probe " + " ".join(cold_start_args(Path("CFG"))),
        runs=runs,
        cold_start_s=Spread.of(ok, 3) if ok else None,
        peak_rss_command=(
            "python -m kiosk.bench.first_frame_probe " + " ".join(_display_cmd(peak_cmd))
            if peak_cmd
            else None
        ),
        peak_rss_mb=peak_marks.get("vm_hwm_mb"),
        peak_rss_ru_maxrss_mb=peak.maxrss_mb if peak is not None else None,
        peak_rss_session_decision=decision,
        peak_rss_session_wall_s=peak.wall_s if peak is not None else None,
        exit_rss_anon_mb=peak_marks.get("rss_anon_mb"),
        exit_rss_file_mb=peak_marks.get("rss_file_mb"),
        notes=notes,
    )


def _display_cmd(cmd: list[str]) -> list[str]:
    """The command as the report shows it, scratch paths by role."""
    out = list(cmd)
    for i, a in enumerate(out[:-1]):
        if a == "--config":
            out[i + 1] = "CFG"
        elif a == "--id-image":
            out[i + 1] = "ID.png"
    return out
