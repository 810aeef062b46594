"""Per-frame cost of camera document auto-capture at 640x480: the kiosk's
:class:`~kiosk.document.autocapture.AutoCaptureTracker` (outline search, steadiness, sharpness, glare;
built without a portrait finder, as :mod:`kiosk.runtime.document_link` builds it) on the frames of a
virtual applicant who holds an ID card up to the camera.

The frames are rendered once, from the prompt until the tracker captures (krzysiek holding his card when
the evaluation data is present, else the astronaut). Each round then feeds them, with their timestamps,
to a fresh tracker, as the kiosk's perception thread does, and times every call. The outline finder
alone (:func:`~kiosk.document.quad.find_document_quad` with the tracker's options) is timed on the same
frames in the same round. dlib has no document step, so there is no outside baseline; the report gives
the share of a 15 fps frame interval, and a smaller analysis width (480 px) measured in the same rounds
as the ratio a slower device could trade for (with whether that tracker still captured).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kiosk.bench.stats import Distribution, Spread

log = logging.getLogger(__name__)

#: Seconds of simulated time from the prompt that the frames may cover at most.
MAX_SIMULATED_S = 10.0
#: The frame interval the share is reported against (the rate a Pi camera is set to).
BUDGET_FPS = 15.0


@dataclass(frozen=True)
class HeldCardFrames:
    """Frames (640x480 RGB) and their timestamps (s) from the document prompt until the kiosk's tracker
    (default config) captured, the simulated seconds that took, and who held the card."""

    frames: list[np.ndarray]
    timestamps_s: list[float]
    captured_after_s: float | None
    source: str


@dataclass(frozen=True)
class WidthRow:
    """One analysis width (``document.capture.analysis_width_px``): medians over rounds of each round's
    per-frame figures (ms) with their spread. ``tracker_*``: a whole :meth:`AutoCaptureTracker.update`;
    ``outline_ms_mean``: the outline finder alone; ``share_of_frame_interval``: tracker mean over
    1000 / 15 ms; ``captured_after_s``: when this tracker captured, simulated seconds after the prompt
    (None: it did not within the frames); ``speedup_vs_default``: default width's mean / this one's,
    per round then the median."""

    analysis_width_px: int
    tracker_ms_mean: Spread
    tracker_ms_p95: Spread
    outline_ms_mean: Spread
    share_of_frame_interval: Spread
    captured_after_s: float | None
    speedup_vs_default: Spread | None

    def as_dict(self) -> dict[str, Any]:
        return {k: v.as_dict() if hasattr(v, "as_dict") else v for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class DocumentBench:
    """The frames (how many, whose, when the default tracker captured) and one row per width, the
    config's default width first."""

    frames: int
    rounds: int
    source: str
    rows: list[WidthRow]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: v for k, v in self.__dict__.items() if k != "rows"}
        out["rows"] = [r.as_dict() for r in self.rows]
        return out


def held_card_frames(config: Any, *, max_frames: int) -> HeldCardFrames:
    """Render what the camera sees from the document prompt until the kiosk's tracker captures."""
    from kiosk.camera.actor import ActorSource, ImageActor
    from kiosk.camera.actor_scenario import load_scenario
    from kiosk.clock import FakeClock
    from kiosk.document.autocapture import AutoCaptureTracker
    from kiosk.paths import data_dir

    t0 = 1000.0
    clock = FakeClock(t0)
    if data_dir() is not None:
        actor: ActorSource = ActorSource(load_scenario("krzysiek"), clock, realtime=False)
        source = "krzysiek (actor:config/scenarios/krzysiek.yaml) holding his ID card up"
    else:
        actor = ImageActor(clock, realtime=False)
        source = "astronaut (built-in actor, no data) holding the demo ID card up"
    tracker = AutoCaptureTracker(config.document.capture)
    frames: list[np.ndarray] = []
    stamps: list[float] = []
    captured: float | None = None
    actor.open()
    try:
        actor.on_prompt("document", t0)
        while len(frames) < max_frames:
            frame = actor.read(0.0)
            if frame is None or frame.timestamp_s - t0 > MAX_SIMULATED_S:
                break
            frames.append(frame.rgb)
            stamps.append(frame.timestamp_s)
            if tracker.update(frame.rgb, frame.timestamp_s).captured is not None:
                captured = round(frame.timestamp_s - t0, 3)
                break
    finally:
        actor.close()
    return HeldCardFrames(frames, stamps, captured, source)


def bench_document(
    *,
    widths: tuple[int, ...] = (480,),
    max_frames: int = 150,
    rounds: int = 3,
    progress: Callable[[str], None] | None = None,
) -> DocumentBench:
    """Time the auto-capture tracker and its outline finder per frame over ``rounds`` rounds, at the
    config's ``analysis_width_px`` and at each of ``widths`` (interleaved within a round)."""
    from kiosk.config import load_config
    from kiosk.document.autocapture import AutoCaptureTracker, capture_quad_options
    from kiosk.document.quad import find_document_quad

    cfg = load_config(None)
    held = held_card_frames(cfg, max_frames=max_frames)
    if not held.frames:
        raise RuntimeError("the virtual applicant gave no frames")
    notes: list[str] = []
    if held.captured_after_s is None:
        notes.append(f"no capture within {len(held.frames)} frames: every frame was searched")
    default = cfg.document.capture.analysis_width_px
    all_widths = [default, *[w for w in widths if w != default]]
    captures = {w: cfg.document.capture.model_copy(update={"analysis_width_px": w}) for w in all_widths}
    runs: dict[int, list[Distribution]] = {w: [] for w in all_widths}
    outline: dict[int, list[float]] = {w: [] for w in all_widths}
    captured_at: dict[int, float | None] = {}
    t0 = held.timestamps_s[0]
    for w in all_widths:  # warm-up (OpenCV's first calls allocate)
        find_document_quad(held.frames[0], capture_quad_options(captures[w]))
    for r in range(rounds):
        if progress:
            progress(f"document: round {r + 1}/{rounds} ({len(held.frames)} frames, widths {all_widths})")
        order = all_widths if r % 2 == 0 else all_widths[::-1]
        for w in order:
            tracker = AutoCaptureTracker(captures[w])
            ms: list[float] = []
            for rgb, t in zip(held.frames, held.timestamps_s, strict=True):
                t_start = time.perf_counter()
                status = tracker.update(rgb, t)
                ms.append((time.perf_counter() - t_start) * 1000.0)
                if status.captured is not None:
                    captured_at.setdefault(w, round(t - t0, 3))
                    break  # a captured tracker does no more work: later frames would flatter it
            else:
                captured_at.setdefault(w, None)
            runs[w].append(Distribution.of(ms))
            opts = capture_quad_options(captures[w])
            times: list[float] = []
            for rgb in held.frames:
                t_start = time.perf_counter()
                find_document_quad(rgb, opts)
                times.append((time.perf_counter() - t_start) * 1000.0)
            outline[w].append(float(np.mean(times)))
    interval_ms = 1000.0 / BUDGET_FPS
    rows = []
    for w in all_widths:
        speedup = None
        if w != default:
            speedup = Spread.of([a.mean / b.mean for a, b in zip(runs[default], runs[w], strict=True)])
        rows.append(
            WidthRow(
                analysis_width_px=w,
                tracker_ms_mean=Spread.of([d.mean for d in runs[w]]),
                tracker_ms_p95=Spread.of([d.p95 for d in runs[w]]),
                outline_ms_mean=Spread.of(outline[w]),
                share_of_frame_interval=Spread.of([d.mean / interval_ms for d in runs[w]]),
                captured_after_s=captured_at.get(w),
                speedup_vs_default=speedup,
            )
        )
    return DocumentBench(len(held.frames), rounds, held.source, rows, notes)
