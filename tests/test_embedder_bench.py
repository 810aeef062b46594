"""The embedder benchmark helper runs end to end on real chips (no timing asserts)."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.bench.embed_round import EmbedBenchResult, bench_embedder, make_bench_chips
from kiosk.errors import InputError

pytestmark = pytest.mark.data


def test_bench_small_run(data_dir) -> None:  # type: ignore[no-untyped-def]
    chips = make_bench_chips(data_dir, count=2)
    assert chips.shape == (2, 150, 150, 3) and chips.dtype == np.uint8
    try:
        import dlib  # noqa: F401

        with_dlib = True
    except ImportError:
        with_dlib = False
    res = bench_embedder(
        chips, variants=("int8", "fp32"), threads=(1,), repeats=1, dlib_repeats=1, with_dlib=with_dlib
    )
    assert isinstance(res, EmbedBenchResult)
    assert [(r.variant, r.threads) for r in res.runs] == [("int8", 1), ("fp32", 1)]
    for r in res.runs:
        assert r.latency.samples == 2 and r.latency.median_ms > 0 and r.load_ms > 0
        assert r.latency.p95_ms >= r.latency.median_ms
    if with_dlib:
        assert res.dlib is not None and res.dlib.latency.samples == 2
        assert all(r.speedup_vs_dlib is not None and r.speedup_vs_dlib > 0 for r in res.runs)
    d = res.as_dict()
    assert d["chips"] == 2 and "int8_meets_target" in d
    assert "litert int8" in res.table()


def test_bench_rejects_bad_chips() -> None:
    with pytest.raises(InputError):
        bench_embedder(np.zeros((1, 112, 112, 3), np.uint8), with_dlib=False)
