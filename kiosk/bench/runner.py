"""Runs the chosen stages with a quick or full plan and assembles the report (a JSON-ready dict)."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STAGES: tuple[str, ...] = ("landmarks", "document", "embed", "verify", "session", "coldstart")


@dataclass(frozen=True)
class Plan:
    """How much of each measurement to do: frames and rounds, chips and repeats, session repeats."""

    landmark_frames: int
    landmark_rounds: int
    embed_chips: int
    embed_rounds: int
    embed_repeats: int
    embed_dlib_repeats: int
    verify_repeats: int
    session_repeats: int
    cold_start_repeats: int
    document_rounds: int


FULL = Plan(150, 5, 20, 3, 5, 2, 7, 3, 3, 5)
QUICK = Plan(40, 1, 4, 1, 2, 1, 2, 1, 1, 1)


def dlib_available() -> tuple[bool, str | None]:
    """Whether dlib and its weights are importable (a dev dependency), and why not."""
    try:
        import dlib  # noqa: F401

        from kiosk.perception.dlib_ref import RESNET_DAT, dlib_model_file

        dlib_model_file(RESNET_DAT)
    except Exception as exc:  # ImportError or ModelError: the baseline is then reported unavailable
        return False, f"{type(exc).__name__}: {exc}"
    return True, None


def _progress(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run_bench(
    stages: Sequence[str],
    *,
    quick: bool,
    soak_sessions: int = 0,
    soak_max_wall_s: float | None = None,
    soak_seed: int = 11,
    command: str = "ekyc-kiosk bench",
    progress: Callable[[str], None] | None = _progress,
) -> dict[str, Any]:
    """Measure ``stages`` (names from :data:`STAGES`) and, when ``soak_sessions``, run the soak."""
    from kiosk.bench.applicant import prepare_applicant
    from kiosk.bench.machine import load_average, machine_info
    from kiosk.bench.procinfo import peak_rss_mb
    from kiosk.bench.targets import check_targets
    from kiosk.paths import data_dir

    plan = QUICK if quick else FULL
    t0 = time.perf_counter()
    has_dlib, why_not = dlib_available()
    report: dict[str, Any] = {
        "schema": 1,
        "command": command,
        "started_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "quick": quick,
        "plan": plan.__dict__,
        "machine": machine_info(),
        "data_dir": str(data_dir()) if data_dir() is not None else None,
        "dlib": has_dlib,
        "missing": [],
        "errors": {},
        "stages": {},
    }
    missing: list[str] = report["missing"]
    if not has_dlib:
        missing.append(f"dlib baselines (every speed-up): dlib not usable ({why_not})")
    if data_dir() is None:
        missing.append(
            "real-footage figures: no evaluation data (EKYC_DATA_DIR / ../shared/data); landmarks ran on the "
            "still astronaut photo, embedding on astronaut chips, verify on the astronaut card vs photo, "
            "sessions with the astronaut (rejected at liveness: a shorter session than a bona fide one)"
        )
    figures: dict[str, Any] = {
        "landmarks_ms_per_frame": None,
        "landmarks_p95_ms": None,
        "landmarks_fps": None,
        "landmarks_speedup_vs_dlib": None,
        "document_ms_per_frame": None,
        "embed_int8_ms": None,
        "embed_int8_threads": None,
        "embed_int8_speedup_vs_dlib": None,
        "verify_ms": None,
        "verify_speedup_vs_dlib": None,
        "session_realtime_factor": None,
        "session_realtime_factor_with_load": None,
        "peak_rss_mb": None,
        "cold_start_s": None,
    }
    with tempfile.TemporaryDirectory(prefix="ekyc-bench-") as scratch_s:
        scratch = Path(scratch_s)
        applicant = None
        if {"session", "coldstart"} & set(stages) or soak_sessions:
            applicant = prepare_applicant(scratch)
            report["applicant"] = {"name": applicant.name, "note": applicant.note}
        for name in stages:
            try:
                _run_stage(name, plan, applicant, scratch, has_dlib, figures, report, progress)
            except Exception as exc:
                log.debug("stage %s failed", name, exc_info=True)
                msg = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
                report["errors"][name] = msg
                if progress:
                    progress(f"{name}: FAILED: {msg}")
        if soak_sessions:
            from kiosk.bench.soak import run_soak

            assert applicant is not None
            if progress:
                progress(f"soak: {soak_sessions} sessions of {applicant.name}")
            report["soak"] = run_soak(
                applicant, soak_sessions, seed=soak_seed, max_wall_s=soak_max_wall_s, progress=progress
            ).as_dict()
    report.update(figures)
    report["bench_peak_rss_mb"] = peak_rss_mb()
    report["targets"] = [t.as_dict() for t in check_targets(figures)]
    report["duration_s"] = round(time.perf_counter() - t0, 1)
    report["machine"]["load_average_at_end"] = load_average()
    return report


def _run_stage(
    name: str,
    plan: Plan,
    applicant: Any,
    scratch: Path,
    has_dlib: bool,
    figures: dict[str, Any],
    report: dict[str, Any],
    progress: Callable[[str], None] | None,
) -> None:
    stages = report["stages"]
    if name == "landmarks":
        from kiosk.bench.frames import bench_frames
        from kiosk.bench.landmarks import bench_landmarks

        fr = bench_frames(plan.landmark_frames)
        lm = bench_landmarks(
            fr.frames,
            rounds=plan.landmark_rounds,
            source=fr.source,
            real_frames=fr.real,
            with_dlib=has_dlib,
            progress=progress,
        )
        stages["landmarks"] = lm.as_dict()
        figures["landmarks_ms_per_frame"] = lm.total_ms_mean.median
        figures["landmarks_p95_ms"] = lm.total_ms_p95.median
        figures["landmarks_fps"] = lm.fps_sustained.median
        if lm.speedup_total_vs_dlib is not None:
            figures["landmarks_speedup_vs_dlib"] = lm.speedup_total_vs_dlib.median
    elif name == "document":
        from kiosk.bench.document import bench_document

        db = bench_document(rounds=plan.document_rounds, progress=progress)
        stages["document"] = db.as_dict()
        figures["document_ms_per_frame"] = db.rows[0].tracker_ms_mean.median
    elif name == "embed":
        from kiosk.bench.embed import bench_chips, bench_embed
        from kiosk.config import load_config

        chips, chip_source = bench_chips(plan.embed_chips)
        eb = bench_embed(
            chips,
            chip_source=chip_source,
            rounds=plan.embed_rounds,
            repeats=plan.embed_repeats,
            dlib_repeats=plan.embed_dlib_repeats,
            with_dlib=has_dlib,
            progress=progress,
        )
        stages["embed"] = eb.as_dict()
        threads = load_config(None).face.match.num_threads  # the kiosk's own setting
        row = eb.row("int8", threads) or eb.row("int8", 1)
        if row is not None:
            figures["embed_int8_ms"] = row.median_ms.median
            figures["embed_int8_threads"] = row.threads
            if row.speedup_vs_dlib is not None:
                figures["embed_int8_speedup_vs_dlib"] = row.speedup_vs_dlib.median
    elif name == "verify":
        from kiosk.bench.verify import bench_verify, default_pairs

        pairs, note = default_pairs(scratch)
        vb = bench_verify(pairs, repeats=plan.verify_repeats, with_dlib=has_dlib, progress=progress)
        if note:
            vb.notes.append(note)
        stages["verify"] = vb.as_dict()
        if vb.pairs:
            first = vb.pairs[0]
            figures["verify_ms"] = first.ours_ms.median
            if first.speedup_vs_dlib is not None:
                figures["verify_speedup_vs_dlib"] = first.speedup_vs_dlib.median
    elif name == "session":
        from kiosk.bench.session import bench_session

        sb = bench_session(applicant, repeats=plan.session_repeats, progress=progress)
        stages["session"] = sb.as_dict()
        figures["session_realtime_factor"] = sb.realtime_factor.median
        figures["session_realtime_factor_with_load"] = sb.realtime_factor_with_load.median
    elif name == "coldstart":
        from kiosk.bench.coldstart import bench_cold_start

        cb = bench_cold_start(applicant, repeats=plan.cold_start_repeats, progress=progress)
        stages["coldstart"] = cb.as_dict()
        if cb.cold_start_s is not None:
            figures["cold_start_s"] = cb.cold_start_s.median
        figures["peak_rss_mb"] = cb.peak_rss_mb
    else:
        raise ValueError(f"unknown stage {name!r}")
