"""``python -m kiosk.bench.first_frame_probe run ARGS...``: ``ekyc-kiosk ARGS`` with timing marks.

Used by the cold-start benchmark instead of editing the app: it wraps :class:`kiosk.app.KioskApp`'s
``build``, ``run`` and ``_render`` from outside and writes wall-clock marks (``time.time()``, seconds since
the epoch, comparable with the parent's) as one JSON object to the file named by ``EKYC_BENCH_PROBE_OUT``:
``probe_start`` (interpreter up, this module running), ``build_start``/``build_end`` (models loaded,
camera and display open), ``run_start`` and ``first_frame`` (the first render that draws a camera frame).
With ``EKYC_BENCH_STOP_AT_FIRST_FRAME=1`` the app stops cleanly right after that render. At exit it adds
``vm_hwm_mb``: the peak resident memory of this process's own address space (``VmHWM`` of
/proc/self/status), and ``rss_anon_mb`` / ``rss_file_mb``: what is resident at exit, split
into private memory and pages mapped from files (mostly the shared libraries' code, whose resident share
depends on how those files came into the page cache; see benchmarks/README.md). The parent's
``ru_maxrss`` of a child is no use here: Linux carries the parent's high-water mark into a forked child's
``maxrss`` across ``exec``, so a child of a large bench process reports at least the bench's size.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

log = logging.getLogger(__name__)

MARKS: dict[str, float] = {"probe_start": time.time()}
OUT_ENV = "EKYC_BENCH_PROBE_OUT"
STOP_ENV = "EKYC_BENCH_STOP_AT_FIRST_FRAME"


def _save() -> None:
    path = os.environ.get(OUT_ENV)
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(MARKS, f)


_STATUS_KEYS = {
    "VmHWM": "vm_hwm_mb",
    "RssAnon": "rss_anon_mb",
    "RssFile": "rss_file_mb",
}


def memory_marks() -> dict[str, float]:
    """Peak resident set (``VmHWM``) and the resident split now, MiB, from /proc/self/status; keys as in
    ``_STATUS_KEYS``. Empty where /proc is missing."""
    marks: dict[str, float] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name in _STATUS_KEYS:
                    marks[_STATUS_KEYS[name]] = round(int(rest.split()[0]) / 1024.0, 1)
    except (OSError, ValueError, IndexError):
        return {}
    return marks


def install() -> None:
    """Wrap the app's methods so the marks are taken (idempotent enough for one process)."""
    from kiosk.app import KioskApp

    build, run, render = KioskApp.build, KioskApp.run, KioskApp._render
    stop = os.environ.get(STOP_ENV) == "1"

    def timed_build(self: Any) -> None:
        MARKS["build_start"] = time.time()
        build(self)
        MARKS["build_end"] = time.time()

    def timed_run(self: Any) -> int:
        MARKS["run_start"] = time.time()
        return run(self)

    def marking_render(self: Any) -> None:
        render(self)
        if "first_frame" not in MARKS and self._last_perceived is not None and self.display is not None:
            MARKS["first_frame"] = time.time()
            _save()
            if stop:
                self.stop_requested = True

    KioskApp.build = timed_build  # type: ignore[method-assign]
    KioskApp.run = timed_run  # type: ignore[method-assign]
    KioskApp._render = marking_render  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    from kiosk.cli import main as cli_main

    install()
    try:
        return cli_main(argv)
    finally:
        MARKS["exit"] = time.time()
        MARKS.update(memory_marks())
        _save()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
