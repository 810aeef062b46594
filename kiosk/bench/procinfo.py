"""This process's resident memory, open file descriptors and threads, read from /proc (Linux)."""

from __future__ import annotations

import logging
import os
import resource
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger(__name__)


def rss_mb() -> float:
    """Current resident set size in MiB (``/proc/self/statm``)."""
    from kiosk.bench.embed_round import rss_mb as current

    return round(current(), 1)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far in MiB (``ru_maxrss``, KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def open_fds() -> int | None:
    """Open file descriptors (entries of ``/proc/self/fd``); None where /proc is missing."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


def os_threads() -> int | None:
    """Native threads of this process (``Threads:`` of ``/proc/self/status``: MediaPipe's and LiteRT's
    own threads count too, not only Python's)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


@dataclass(frozen=True)
class ProcSample:
    """One reading: resident MiB, open descriptors, native threads, and after how many sessions."""

    sessions_done: int
    rss_mb: float
    fds: int | None
    threads: int | None

    @staticmethod
    def now(sessions_done: int) -> ProcSample:
        return ProcSample(sessions_done, rss_mb(), open_fds(), os_threads())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
