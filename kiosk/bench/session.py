"""A whole replayed kiosk session as a multiple of real time.

Each repeat builds a fresh :class:`~kiosk.app.KioskApp` (headless, actor source with ``realtime`` off, so
frames come as fast as the pipeline takes them and the app runs on the simulated clock), runs one session
to its decision, and reports simulated seconds / wall seconds of :meth:`KioskApp.run` (model load
excluded) and of ``build()`` + ``run()`` (model load included). CPU seconds of the process over ``run()``
are reported too: on a loaded machine simulated / CPU seconds shows what one free core would give.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.bench.applicant import Applicant, bench_config
from kiosk.bench.stats import Spread

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionRun:
    """One session: seconds of simulated time, wall time of build and run, CPU time of run."""

    simulated_s: float
    build_wall_s: float
    run_wall_s: float
    run_cpu_s: float
    decision: str | None
    reasons: list[str]

    @property
    def realtime_factor(self) -> float:
        return self.simulated_s / self.run_wall_s

    @property
    def realtime_factor_with_load(self) -> float:
        return self.simulated_s / (self.build_wall_s + self.run_wall_s)

    @property
    def realtime_factor_cpu(self) -> float:
        return self.simulated_s / self.run_cpu_s if self.run_cpu_s > 0 else 0.0


@dataclass(frozen=True)
class SessionBench:
    applicant: str
    applicant_note: str
    repeats: int
    runs: list[SessionRun]
    realtime_factor: Spread
    realtime_factor_with_load: Spread
    realtime_factor_cpu: Spread
    simulated_s: Spread
    build_wall_s: Spread
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            if k == "runs":
                d[k] = [{**r.__dict__, "realtime_factor": round(r.realtime_factor, 3)} for r in v]
            else:
                d[k] = v.as_dict() if hasattr(v, "as_dict") else v
        return d


def run_one_session(applicant: Applicant, seed: int, records_dir: Path) -> SessionRun:
    """Build a kiosk, play one session of ``applicant``, close it; time each part."""
    from kiosk.app import KioskApp, RunOptions

    cfg = bench_config(records_dir)
    opts = RunOptions(
        source=applicant.source,
        id_image=applicant.id_image,
        headless=True,
        sessions=1,
        seed=seed,
        realtime=False,
        max_wall_s=600,
    )
    app = KioskApp(cfg, opts)
    try:
        t0 = time.perf_counter()
        app.build()
        t1 = time.perf_counter()
        sim0 = app.clock.now()
        c0 = time.process_time()
        app.run()
        c1 = time.process_time()
        t2 = time.perf_counter()
        sim1 = app.clock.now()
    finally:
        app.close()
    rec = app.records[-1] if app.records else {}
    return SessionRun(
        simulated_s=round(sim1 - sim0, 3),
        build_wall_s=round(t1 - t0, 3),
        run_wall_s=round(t2 - t1, 3),
        run_cpu_s=round(c1 - c0, 3),
        decision=rec.get("decision"),
        reasons=list(rec.get("reasons") or []),
    )


def bench_session(
    applicant: Applicant, *, repeats: int = 3, seed: int = 7, progress: Callable[[str], None] | None = None
) -> SessionBench:
    """``repeats`` sessions, each in a fresh app with its own records folder, seeds ``seed``, ``seed+1``..."""
    runs: list[SessionRun] = []
    notes: list[str] = []
    for r in range(repeats):
        if progress:
            progress(f"session: {r + 1}/{repeats} ({applicant.name})")
        with tempfile.TemporaryDirectory(prefix="ekyc-bench-session-") as tmp:
            run = run_one_session(applicant, seed + r, Path(tmp) / "records")
        runs.append(run)
        if applicant.bona_fide and run.decision != "approved":
            notes.append(f"session {r + 1} (seed {seed + r}) ended {run.decision}: {run.reasons}")
    return SessionBench(
        applicant=applicant.name,
        applicant_note=applicant.note,
        repeats=repeats,
        runs=runs,
        realtime_factor=Spread.of([x.realtime_factor for x in runs], 2),
        realtime_factor_with_load=Spread.of([x.realtime_factor_with_load for x in runs], 2),
        realtime_factor_cpu=Spread.of([x.realtime_factor_cpu for x in runs], 2),
        simulated_s=Spread.of([x.simulated_s for x in runs], 2),
        build_wall_s=Spread.of([x.build_wall_s for x in runs], 2),
        notes=notes,
    )
