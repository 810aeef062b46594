"""What ran the benchmark: CPU, cores, memory, load, Python and the library versions that matter."""

from __future__ import annotations

import logging
import os
import platform
import socket
from importlib import metadata
from typing import Any

log = logging.getLogger(__name__)

#: Distributions whose versions go into the report (first installed name of each tuple wins).
LIBRARIES: dict[str, tuple[str, ...]] = {
    "mediapipe": ("mediapipe",),
    "ai-edge-litert": ("ai-edge-litert",),
    "numpy": ("numpy",),
    "opencv": (
        "opencv-contrib-python",
        "opencv-python",
        "opencv-contrib-python-headless",
        "opencv-python-headless",
    ),
    "dlib": ("dlib-bin", "dlib"),
    "scikit-image": ("scikit-image",),
    "pygame-ce": ("pygame-ce",),
}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_total_mb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024.0, 0)
    except (OSError, ValueError):
        pass
    return None


def library_versions() -> dict[str, str | None]:
    """Installed version of each of :data:`LIBRARIES` (None when not installed)."""
    out: dict[str, str | None] = {}
    for key, dists in LIBRARIES.items():
        out[key] = None
        for d in dists:
            try:
                out[key] = metadata.version(d)
                break
            except metadata.PackageNotFoundError:
                continue
    return out


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages (other work on the machine skews every figure)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict[str, Any]:
    """A JSON-ready description of this machine and software."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    return {
        "host": socket.gethostname(),
        "cpu_model": _cpu_model(),
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "mem_total_mb": _mem_total_mb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "libraries": library_versions(),
        "load_average_at_start": load_average(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
    }
