"""Soak: N back-to-back simulated sessions in one process, one :class:`~kiosk.app.KioskApp`.

The applicant is the bench applicant (krzysiek with his uploaded ID image when the data is present);
the app draws a new seed for every session from the base seed, so the challenge sets vary. After every
session the process's resident memory, open file descriptors and native threads are read; the first
reading (after session 1: models loaded, caches warm) is the start, the last is the end, and growth of any
of them beyond :data:`MAX_GROWTH` fails the soak. For memory the start and end are the floors of the first
and last few readings (:func:`rss_floors`), since a single reading swings with what the allocator holds.
Every session of a bona fide applicant that did not end ``approved`` is listed with its reasons.
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
from kiosk.bench.procinfo import ProcSample

log = logging.getLogger(__name__)

#: Allowed growth from the warm start to the end (5 %).
MAX_GROWTH = 0.05


@dataclass(frozen=True)
class SoakFailure:
    """A session that did not end ``approved``: its number (1-based), seed, decision, reasons, and each
    challenge as ``name: passed`` or ``name: reason (armed ...)`` (from the decision record)."""

    session: int
    seed: int | None
    decision: str | None
    reasons: list[str]
    challenges: list[str]


def _challenges(rec: dict[str, Any]) -> list[str]:
    out = []
    for o in (rec.get("liveness") or {}).get("outcomes") or []:
        state = "passed" if o.get("passed") else (o.get("reason") or "failed")
        if not o.get("passed"):  # when the neutral hold after the prompt completed, if ever
            armed, prompt = o.get("armed_s"), o.get("prompt_s")
            state += (
                " (never armed)"
                if armed is None
                else f" (armed {armed - (prompt or 0.0):.2f} s after prompt)"
            )
        out.append(f"{o.get('name')}: {state}")
    return out


@dataclass(frozen=True)
class SoakResult:
    """``sessions_requested`` vs ``sessions_done`` (fewer when ``max_wall_s`` ran out); ``start``/``end``:
    readings after the first and the last session; ``rss_floor_mb``: RSS floors of the first, middle and
    last windows of readings (see :func:`rss_floors`); ``growth``: relative change per figure, RSS from the
    first floor to the last, descriptors and threads from the start reading to the end one;
    ``second_half_rss_growth``: middle floor to last floor (levelling off or not);
    ``leaks``: figures that grew beyond :data:`MAX_GROWTH`; ``failures``: sessions not approved."""

    applicant: str
    sessions_requested: int
    sessions_done: int
    wall_s: float
    simulated_s: float
    start: ProcSample | None
    end: ProcSample | None
    peak_rss_mb: float
    rss_floor_mb: tuple[float, float, float] | None
    growth: dict[str, float | None]
    second_half_rss_growth: float | None
    leaks: list[str]
    decisions: dict[str, int]
    failures: list[SoakFailure]
    bona_fide: bool
    samples: list[ProcSample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.leaks and (not self.bona_fide or not self.failures) and self.sessions_done > 1

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = dict(self.__dict__)
        d["start"] = self.start.as_dict() if self.start else None
        d["end"] = self.end.as_dict() if self.end else None
        d["failures"] = [f.__dict__ for f in self.failures]
        d["samples"] = [s.as_dict() for s in self.samples]
        d["ok"] = self.ok
        return d


def _growth(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or a <= 0:
        return None
    return round((b - a) / a, 4)


def rss_floors(readings: list[ProcSample]) -> tuple[float, float, float] | None:
    """Lowest RSS among the first, the middle and the last ``k`` readings (``k`` = a fifth of them, 1 to 10).

    RSS read at a session's end jumps by up to ~70 MiB from one session to the next: frames and chips just
    freed are often still held by the allocator. Those jumps are transient and only ever upward, so the
    floor of a window is the process's steady size, and a leak shows as a rising floor.
    """
    if not readings:
        return None
    k = max(1, min(10, len(readings) // 5))
    m = max(0, len(readings) // 2 - k // 2)
    first, middle, last = readings[:k], readings[m : m + k], readings[-k:]
    return (min(r.rss_mb for r in first), min(r.rss_mb for r in middle), min(r.rss_mb for r in last))


def run_soak(
    applicant: Applicant,
    sessions: int,
    *,
    seed: int = 11,
    max_wall_s: float | None = None,
    result_display_s: float = 1.0,
    sample_every: int = 10,
    progress: Callable[[str], None] | None = None,
) -> SoakResult:
    """Play ``sessions`` sessions in one app (stopping early after ``max_wall_s`` wall seconds)."""
    from kiosk.app import KioskApp, RunOptions
    from kiosk.bench.procinfo import peak_rss_mb
    from kiosk.flow import effects as fx

    readings: list[ProcSample] = []
    t_start = time.perf_counter()

    class SoakApp(KioskApp):
        """The kiosk app, reading the process figures whenever a session ends."""

        def _do(self, effect: fx.Effect, now: float) -> None:
            super()._do(effect, now)
            if isinstance(effect, fx.EndSession):
                readings.append(ProcSample.now(self.sessions_done))
                n = self.sessions_done
                if progress and (n == 1 or n % 25 == 0):
                    el = time.perf_counter() - t_start
                    progress(f"soak: {n}/{sessions} sessions, {el:.0f} s, RSS {readings[-1].rss_mb:.0f} MiB")

    with tempfile.TemporaryDirectory(prefix="ekyc-bench-soak-") as tmp:
        cfg = bench_config(Path(tmp) / "records", result_display_s=result_display_s)
        opts = RunOptions(
            source=applicant.source,
            id_image=applicant.id_image,
            headless=True,
            sessions=sessions,
            seed=seed,
            realtime=False,
            max_wall_s=max_wall_s,
        )
        app = SoakApp(cfg, opts)
        try:
            app.build()
            sim0 = app.clock.now()
            t0 = time.perf_counter()
            app.run()
            wall = time.perf_counter() - t0
            sim = app.clock.now() - sim0
        finally:
            app.close()
    records = app.records
    decisions: dict[str, int] = {}
    failures: list[SoakFailure] = []
    for i, rec in enumerate(records, start=1):
        dec = str(rec.get("decision"))
        decisions[dec] = decisions.get(dec, 0) + 1
        if dec != "approved":
            reasons = list(rec.get("reasons") or [])
            failures.append(SoakFailure(i, rec.get("seed"), rec.get("decision"), reasons, _challenges(rec)))
    start = readings[0] if readings else None
    end = readings[-1] if readings else None
    floors = rss_floors(readings)
    growth = {
        "rss_mb": _growth(floors[0], floors[2]) if floors else None,
        "fds": _growth(start.fds, end.fds) if start and end else None,
        "threads": _growth(start.threads, end.threads) if start and end else None,
    }
    leaks = [k for k, g in growth.items() if g is not None and g > MAX_GROWTH]
    # not judged: whether the floor still rises over the second half or has levelled off
    second_half_rss = _growth(floors[1], floors[2]) if floors else None
    notes: list[str] = []
    if len(records) < sessions:
        notes.append(f"stopped after {len(records)} of {sessions} sessions (wall-time limit {max_wall_s} s)")
    # every reading of the first sessions (warm-up), then every ``sample_every``-th (the trend)
    kept = [s for s in readings if s.sessions_done <= 20 or s.sessions_done % sample_every == 0]
    if readings and readings[-1] not in kept:
        kept.append(readings[-1])
    return SoakResult(
        applicant=applicant.name,
        sessions_requested=sessions,
        sessions_done=len(records),
        wall_s=round(wall, 1),
        simulated_s=round(sim, 1),
        start=start,
        end=end,
        peak_rss_mb=peak_rss_mb(),
        rss_floor_mb=floors,
        growth=growth,
        second_half_rss_growth=second_half_rss,
        leaks=leaks,
        decisions=decisions,
        failures=failures,
        bona_fide=applicant.bona_fide,
        samples=kept,
        notes=notes,
    )
