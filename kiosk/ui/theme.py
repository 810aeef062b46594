"""Colours, sizes and the font. High contrast and large text by default."""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# DejaVu Sans covers Vietnamese; pygame's built-in font does not. matplotlib (a mediapipe dependency)
# ships it, and most Linux images have it too.
_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)


def find_font() -> str | None:
    """Path of a TTF that covers Latin with Vietnamese diacritics, or None for pygame's default."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.origin:
        p = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if p.is_file():
            return str(p)
    for c in _FONT_CANDIDATES:
        if Path(c).is_file():
            return c
    log.warning("no DejaVu Sans found; Vietnamese text may show boxes")
    return None


@dataclass(frozen=True)
class Theme:
    background: tuple[int, int, int] = (12, 14, 20)
    foreground: tuple[int, int, int] = (245, 245, 245)
    muted: tuple[int, int, int] = (170, 176, 190)
    accent: tuple[int, int, int] = (255, 196, 0)
    good: tuple[int, int, int] = (40, 200, 90)
    bad: tuple[int, int, int] = (235, 70, 60)
    title_px: int = 56
    body_px: int = 34
    small_px: int = 26
    margin_px: int = 40

    def scaled(self, scale: float) -> Theme:
        return Theme(
            title_px=int(self.title_px * scale),
            body_px=int(self.body_px * scale),
            small_px=int(self.small_px * scale),
            margin_px=self.margin_px,
        )
