"""Face embedding per face: LiteRT int8/fp16/fp32 at 1 and 2 threads against dlib's
``compute_face_descriptor``, on the same 150 px chips, in the same process.

Each round is one :func:`kiosk.bench.embed_round.bench_embedder` call (dlib first, then every
variant), so the speed-up of a round compares figures taken seconds apart; the report gives the median
over rounds with min and max. Chips: real LFW faces cut the kiosk's way
(:func:`kiosk.bench.embed_round.make_bench_chips`) when the evaluation data is present, else chips of
the shipped astronaut photo (and its mirror image).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kiosk.bench.stats import Spread, ratio

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbedRow:
    """One variant at one thread count: per-face ms (median over rounds of each round's median and p95),
    load ms, and the speed-up over dlib (per round, then the median)."""

    variant: str
    threads: int
    median_ms: Spread
    p95_ms: Spread
    load_ms: Spread
    speedup_vs_dlib: Spread | None

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.as_dict() if hasattr(v, "as_dict") else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class EmbedBench:
    chips: int
    chip_source: str
    rounds: int
    repeats: int
    rows: list[EmbedRow]
    dlib_median_ms: Spread | None
    dlib_p95_ms: Spread | None
    dlib_load_ms: Spread | None
    notes: list[str] = field(default_factory=list)

    def row(self, variant: str, threads: int) -> EmbedRow | None:
        return next((r for r in self.rows if r.variant == variant and r.threads == threads), None)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {k: v for k, v in self.__dict__.items() if k != "rows"}
        for k in ("dlib_median_ms", "dlib_p95_ms", "dlib_load_ms"):
            d[k] = d[k].as_dict() if d[k] is not None else None
        d["rows"] = [r.as_dict() for r in self.rows]
        return d


def astronaut_chips() -> np.ndarray:
    """Chips of the astronaut photo and of its mirror image, cut the kiosk's way (no data needed)."""
    from skimage import data as skdata

    from kiosk.models import verified_model_path
    from kiosk.perception.chip import face_chip
    from kiosk.perception.landmarker import FaceLandmarker, LandmarkerOptions, RunningMode

    base = np.ascontiguousarray(skdata.astronaut()[:, :, :3])
    opts = LandmarkerOptions(
        model_path=verified_model_path("face_landmarker"), mode=RunningMode.IMAGE, blendshapes=False
    )
    out = []
    with FaceLandmarker(opts) as lm:
        for rgb in (base, np.ascontiguousarray(base[:, ::-1])):
            obs = lm.detect(rgb)
            if obs.faces:
                out.append(face_chip(rgb, obs.faces[0].five_points))
    return np.stack(out)


def bench_chips(count: int) -> tuple[np.ndarray, str]:
    from kiosk.paths import data_dir

    d = data_dir()
    if d is not None:
        from kiosk.bench.embed_round import make_bench_chips

        return make_bench_chips(d, count=count), f"{count} LFW DevTrain faces (lfw_devtrain, every 8th image)"
    return astronaut_chips(), "skimage astronaut and its mirror image (no data)"


def bench_embed(
    chips: np.ndarray,
    *,
    chip_source: str,
    rounds: int = 3,
    repeats: int = 5,
    dlib_repeats: int = 2,
    variants: Sequence[str] = ("int8", "fp16", "fp32"),
    threads: Sequence[int] = (1, 2),
    with_dlib: bool = True,
    progress: Callable[[str], None] | None = None,
) -> EmbedBench:
    """``rounds`` calls of :func:`kiosk.bench.embed_round.bench_embedder`, summarised per variant and
    threads."""
    from kiosk.bench.embed_round import EmbedBenchResult, bench_embedder

    results: list[EmbedBenchResult] = []
    for r in range(rounds):
        if progress:
            progress(f"embed: round {r + 1}/{rounds} ({len(chips)} chips)")
        results.append(
            bench_embedder(
                chips,
                variants=variants,
                threads=threads,
                repeats=repeats,
                with_dlib=with_dlib,
                dlib_repeats=dlib_repeats,
            )
        )
    notes = sorted({n for res in results for n in res.notes})
    dl = [res.dlib for res in results if res.dlib is not None]
    rows: list[EmbedRow] = []
    for v in variants:
        for n in threads:
            runs = [run for res in results for run in res.runs if run.variant == v and run.threads == n]
            # recomputed from the round's own dlib median (bench_embedder rounds its ratio to 0.1)
            speeds = [
                sp
                for res in results
                for run in res.runs
                if run.variant == v
                and run.threads == n
                and (sp := ratio(res.dlib.latency.median_ms if res.dlib else None, run.latency.median_ms))
                is not None
            ]
            rows.append(
                EmbedRow(
                    v,
                    n,
                    Spread.of([run.latency.median_ms for run in runs]),
                    Spread.of([run.latency.p95_ms for run in runs]),
                    Spread.of([run.load_ms for run in runs], 1),
                    Spread.of(speeds, 2) if speeds else None,
                )
            )
    return EmbedBench(
        chips=len(chips),
        chip_source=chip_source,
        rounds=rounds,
        repeats=repeats,
        rows=rows,
        dlib_median_ms=Spread.of([d.latency.median_ms for d in dl]) if dl else None,
        dlib_p95_ms=Spread.of([d.latency.p95_ms for d in dl]) if dl else None,
        dlib_load_ms=Spread.of([d.load_ms for d in dl], 1) if dl else None,
        notes=notes,
    )
