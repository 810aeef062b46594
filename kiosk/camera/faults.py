"""Simulated camera faults, wrapped around any source (like a virtual printer's error injection).

Each :class:`~kiosk.config.camera.FaultSpec` is active from ``at_s`` to ``at_s + duration_s``
seconds after the wrapper is first opened (on the injected clock; the origin survives reopening):

- ``drop``: the device is gone. ``read`` closes the inner source and raises
  :class:`~kiosk.errors.CameraLost`; ``open`` raises it too until the fault ends (so a
  :class:`~kiosk.camera.reopening.ReopeningSource` keeps retrying, then recovers).
- ``stall``: frames stop coming (they are read and discarded); after ``frame_timeout_s`` without a
  frame ``read`` raises CameraLost, as the live sources' watchdog does.
- ``freeze``: the last good image repeats, with the inner frames' (rising) timestamps.
- ``black``: all-black frames. ``dim``: brightness times ``level``. ``noise``: Gaussian noise of
  std ``level`` grey levels (seeded).

Frames that went through a fault carry ``meta["faults"]`` (the active kinds).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from kiosk.camera.frame import Frame
from kiosk.camera.source import DEFAULT_READ_TIMEOUT_S, FrameSource, SourceInfo
from kiosk.clock import Clock
from kiosk.config.camera import FaultSpec
from kiosk.errors import CameraLost

log = logging.getLogger(__name__)


class FaultySource:
    """Wrap ``inner`` and apply ``faults`` (see the module docstring). ``inner`` stays reachable
    through :attr:`inner` (e.g. to prompt an actor)."""

    def __init__(
        self,
        inner: FrameSource,
        faults: Sequence[FaultSpec],
        clock: Clock,
        *,
        frame_timeout_s: float = 2.0,
        seed: int = 0,
    ) -> None:
        self._inner = inner
        self._faults = tuple(faults)
        self._clock = clock
        self._frame_timeout_s = frame_timeout_s
        self._rng = np.random.default_rng(seed)
        self._origin: float | None = None
        self._inner_open = False
        self._last_rgb: np.ndarray | None = None
        self._last_frame_at = 0.0

    @property
    def inner(self) -> FrameSource:
        return self._inner

    def __getattr__(self, name: str) -> Any:
        # Reach the wrapped source's extras (an actor's on_prompt, id_image...) through the wrapper.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    @property
    def info(self) -> SourceInfo:
        return self._inner.info

    def active(self, now: float | None = None) -> list[FaultSpec]:
        """The faults in force at clock time ``now`` (default: the clock's now)."""
        if self._origin is None:
            return []
        t = (self._clock.now() if now is None else now) - self._origin
        return [f for f in self._faults if f.at_s <= t < f.at_s + f.duration_s]

    def _drop(self, active: list[FaultSpec]) -> FaultSpec | None:
        return next((f for f in active if f.kind == "drop"), None)

    def open(self) -> None:
        if self._origin is None:
            self._origin = self._clock.now()
        drop = self._drop(self.active())
        if drop is not None:
            raise CameraLost(_drop_message(drop))
        if not self._inner_open:
            self._inner.open()
            self._inner_open = True
        self._last_frame_at = self._clock.now()

    def close(self) -> None:
        if self._inner_open:
            self._inner_open = False
            self._inner.close()

    def read(self, timeout_s: float = DEFAULT_READ_TIMEOUT_S) -> Frame | None:
        active = self.active()
        drop = self._drop(active)
        if drop is not None:
            self.close()
            log.info("simulated camera drop at %.2f s for %.2f s", drop.at_s, drop.duration_s)
            raise CameraLost(_drop_message(drop))
        if not self._inner_open:
            raise CameraLost("simulated fault: camera was dropped and not reopened")
        frame = self._inner.read(timeout_s)
        kinds = {f.kind for f in active}
        now = self._clock.now()
        if "stall" in kinds:
            silent = now - self._last_frame_at
            if silent > self._frame_timeout_s:
                raise CameraLost(f"no frame for {silent:.1f} s (simulated stall)")
            return None
        if frame is None:
            return None
        self._last_frame_at = now
        if not kinds:
            self._last_rgb = frame.rgb
            return frame
        rgb = frame.rgb
        if "freeze" in kinds and self._last_rgb is not None:
            rgb = self._last_rgb
        else:
            self._last_rgb = rgb
        if "black" in kinds:
            rgb = np.zeros_like(rgb)
        for f in active:
            if f.kind == "dim":
                rgb = (rgb.astype(np.float32) * min(1.0, f.level)).astype(np.uint8)
            elif f.kind == "noise" and f.level > 0:
                noise = self._rng.standard_normal(rgb.shape, dtype=np.float32) * f.level
                noisy = rgb.astype(np.float32) + noise
                rgb = np.clip(noisy, 0, 255).astype(np.uint8)
        return dataclasses.replace(frame, rgb=rgb, meta={**frame.meta, "faults": sorted(kinds)})


def _drop_message(drop: FaultSpec) -> str:
    return f"simulated fault: camera dropped (at {drop.at_s:g} s for {drop.duration_s:g} s)"
