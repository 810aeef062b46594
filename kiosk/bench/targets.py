"""The issue's targets for this 2-core machine, each checked against the measured figure."""

from __future__ import annotations

import logging
import operator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """``key``: the top-level report figure; ``op``: ``<=`` or ``>=``; ``limit`` in the figure's unit."""

    key: str
    description: str
    op: str
    limit: float
    unit: str


TARGETS: tuple[Target, ...] = (
    Target("landmarks_ms_per_frame", "landmarks + liveness per 640x480 frame (mean)", "<=", 20.0, "ms"),
    Target("embed_int8_speedup_vs_dlib", "int8 embedding speed-up over dlib", ">=", 5.0, "x"),
    Target("session_realtime_factor", "replayed session vs real time", ">=", 2.0, "x"),
    Target("peak_rss_mb", "peak resident memory of the kiosk process", "<=", 600.0, "MiB"),
    Target("cold_start_s", "cold start to the first frame shown", "<=", 5.0, "s"),
)

_OPS = {"<=": operator.le, ">=": operator.ge}


@dataclass(frozen=True)
class TargetResult:
    key: str
    description: str
    target: str
    value: float | None
    passed: bool | None  # None: not measured in this run

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "not measured"}[self.passed]


def check_targets(figures: dict[str, Any]) -> list[TargetResult]:
    """Each target against ``figures[target.key]`` (missing or None: not measured)."""
    out = []
    for t in TARGETS:
        v = figures.get(t.key)
        passed = None if v is None else bool(_OPS[t.op](float(v), t.limit))
        out.append(TargetResult(t.key, t.description, f"{t.op} {t.limit:g} {t.unit}", v, passed))
    return out
