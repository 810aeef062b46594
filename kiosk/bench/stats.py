"""Summaries of repeated measurements: median with its spread, and per-sample distributions."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Spread:
    """Median of ``n`` repeated figures with their minimum and maximum (same unit as the figures)."""

    median: float
    min: float
    max: float
    n: int

    @staticmethod
    def of(values: Sequence[float], ndigits: int = 3) -> Spread:
        a = np.asarray(list(values), dtype=np.float64)
        if a.size == 0:
            raise ValueError("no values to summarise")
        return Spread(
            round(float(np.median(a)), ndigits),
            round(float(a.min()), ndigits),
            round(float(a.max()), ndigits),
            int(a.size),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self, fmt: str = ".2f") -> str:
        """``median [min-max]``, or the lone value when there was one run."""
        if self.n == 1:
            return format(self.median, fmt)
        return f"{self.median:{fmt}} [{self.min:{fmt}}-{self.max:{fmt}}]"


@dataclass(frozen=True)
class Distribution:
    """Per-sample figures (e.g. milliseconds per frame): mean, median, 95th percentile, extremes."""

    mean: float
    median: float
    p95: float
    min: float
    max: float
    n: int

    @staticmethod
    def of(values: Sequence[float], ndigits: int = 3) -> Distribution:
        a = np.asarray(list(values), dtype=np.float64)
        if a.size == 0:
            raise ValueError("no values to summarise")
        return Distribution(
            round(float(a.mean()), ndigits),
            round(float(np.median(a)), ndigits),
            round(float(np.percentile(a, 95)), ndigits),
            round(float(a.min()), ndigits),
            round(float(a.max()), ndigits),
            int(a.size),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ratio(baseline: float | None, ours: float | None, ndigits: int = 2) -> float | None:
    """``baseline / ours`` (how many times faster we are), None when either is missing or zero."""
    if baseline is None or ours is None or ours <= 0:
        return None
    return round(baseline / ours, ndigits)
