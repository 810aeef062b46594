"""The unit that flows from a camera source into perception."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One camera image.

    ``rgb`` is an HxWx3 uint8 array in RGB order (never BGR past the source).
    ``timestamp_s`` is monotonic seconds: the source's own clock for live cameras, the media
    timestamp (offset to start at the source's open time) for files, so replays keep their pace.
    ``index`` counts frames delivered by the source, for logs only; never for timing.
    """

    rgb: np.ndarray
    timestamp_s: float
    index: int
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])
