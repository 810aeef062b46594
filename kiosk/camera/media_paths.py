"""Where media named in a config, URI or scenario is looked up.

A path is tried as given (absolute, or relative to the working directory), then relative to the
evaluation data directory (``EKYC_DATA_DIR`` or ``../shared/data``, see :func:`kiosk.paths.data_dir`),
so ``file:liveness_videos2/webcam_krzysiek/real.mp4`` works from anywhere. Scenario files look in
the data directory first (their paths are written relative to it).
"""

from __future__ import annotations

import logging
from pathlib import Path

from kiosk.errors import CameraError
from kiosk.paths import data_dir

log = logging.getLogger(__name__)


def resolve_media_path(path: str | Path, *, what: str = "file", data_first: bool = False) -> Path:
    """Find ``path`` (see the module docstring); CameraError naming every place looked at if absent."""
    p = Path(path).expanduser()
    candidates: list[Path] = []
    data = data_dir()
    if p.is_absolute():
        candidates.append(p)
    else:
        local = Path.cwd() / p
        in_data = [data / p] if data is not None else []
        candidates.extend([*in_data, local] if data_first else [local, *in_data])
    for c in candidates:
        if c.exists():
            return c
    where = ", ".join(str(c) for c in candidates) or str(p)
    hint = "" if data is not None or p.is_absolute() else " (no data dir: set EKYC_DATA_DIR)"
    raise CameraError(f"{what} not found: {path} (looked at {where}){hint}", code="media_not_found")
