"""The simulated applicant and the kiosk config every session benchmark uses.

With the evaluation data the applicant is ``krzysiek`` (config/scenarios/krzysiek.yaml: a real person on
real webcam footage who answers smile, both turns and nod; a bona fide applicant the kiosk should approve),
uploading the ID image his actor makes (a simulated card cut from the clip). Without the data it is the
shipped ``astronaut`` photo (scikit-image), which liveness must reject.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: The challenge pool the krzysiek clip can answer (no clear blink and no open mouth in it).
CHALLENGES = ("smile", "turn_left", "turn_right", "nod")


@dataclass(frozen=True)
class Applicant:
    """``source``: camera URI of the actor; ``id_image``: the uploaded ID (a PNG in a scratch folder);
    ``bona_fide``: True when every session should end ``approved``."""

    name: str
    source: str
    id_image: Path | None
    bona_fide: bool
    note: str


def config_text(
    records_dir: Path, *, result_display_s: float = 3.0, lockout_after_failures: int = 100
) -> str:
    """YAML of the bench kiosk: the default config with the demo's challenge pool, records in
    ``records_dir``, and a lockout high enough that a rejected session never hides the next ones."""
    pool = ", ".join(CHALLENGES)
    return (
        "display: {fullscreen: false}\n"
        f"liveness: {{challenges: [{pool}], count: 3}}\n"
        f"session: {{result_display_s: {result_display_s}, "
        f"lockout_after_failures: {lockout_after_failures}}}\n"
        f"records: {{kiosk_id: kiosk-bench, data_dir: {json.dumps(str(records_dir))}}}\n"
    )


def bench_config(records_dir: Path, **kw: Any) -> Any:
    """The validated config of :func:`config_text`."""
    from kiosk.config import parse_config_text

    return parse_config_text(config_text(records_dir, **kw), "bench.yaml")


def write_config(path: Path, records_dir: Path, **kw: Any) -> Path:
    """Write :func:`config_text` to ``path`` (for ``ekyc-kiosk run --config`` in a subprocess)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config_text(records_dir, **kw), encoding="utf-8")
    return path


def write_id_image(source_uri: str, out: Path) -> Path:
    """The actor's own ID image, written as a PNG for the upload path."""
    import cv2

    from kiosk.camera.factory import find_actor, open_source
    from kiosk.clock import FakeClock
    from kiosk.errors import KioskError

    src = open_source(f"{source_uri}?realtime=0", clock=FakeClock())
    try:
        actor = find_actor(src)
        if actor is None:
            raise KioskError(f"{source_uri} is not an actor source")
        img = actor.id_image()
    finally:
        src.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), np.ascontiguousarray(img[:, :, ::-1])):
        raise KioskError(f"cannot write {out}")
    return out


def prepare_applicant(scratch: Path) -> Applicant:
    """The best applicant available here, with its ID image written under ``scratch``."""
    from kiosk.paths import REPO_DIR, data_dir

    if data_dir() is not None:
        scenario = REPO_DIR / "config" / "scenarios" / "krzysiek.yaml"
        source = f"actor:{scenario}"
        return Applicant(
            "krzysiek",
            source,
            write_id_image(source, scratch / "id_krzysiek.png"),
            True,
            "real webcam footage (liveness_videos2/webcam_krzysiek/real.mp4), bona fide",
        )
    source = "actor:astronaut"
    return Applicant(
        "astronaut",
        source,
        write_id_image(source, scratch / "id_astronaut.png"),
        False,
        "shipped photo (scikit-image astronaut): no evaluation data; liveness rejects it",
    )
