"""Drawing helpers shared by the scenes: wrapped text, camera preview with guidance oval, progress."""

from __future__ import annotations

from typing import Any

import numpy as np

from kiosk.ui.theme import Theme


class Painter:
    """Wraps a pygame surface, a theme and a font cache. Created by the display, handed to scenes."""

    def __init__(self, surface: Any, theme: Theme, font_path: str | None) -> None:
        import pygame

        self.pg = pygame
        self.surface = surface
        self.theme = theme
        self._font_path = font_path
        self._fonts: dict[int, Any] = {}

    @property
    def size(self) -> tuple[int, int]:
        return self.surface.get_size()  # type: ignore[no-any-return]

    def font(self, px: int) -> Any:
        if px not in self._fonts:
            self._fonts[px] = self.pg.font.Font(self._font_path, px)
        return self._fonts[px]

    def clear(self) -> None:
        self.surface.fill(self.theme.background)

    def text(
        self,
        s: str,
        px: int,
        y: int,
        *,
        color: tuple[int, int, int] | None = None,
        x: int | None = None,
        width: int | None = None,
        center: bool = True,
    ) -> int:
        """Draw ``s`` wrapped to ``width``; return the y below the last line."""
        font = self.font(px)
        w_total = self.size[0]
        width = width or (w_total - 2 * self.theme.margin_px)
        x0 = x if x is not None else (w_total - width) // 2
        color = color or self.theme.foreground
        for line in self._wrap(s, font, width):
            img = font.render(line, True, color)
            lx = x0 + (width - img.get_width()) // 2 if center else x0
            self.surface.blit(img, (lx, y))
            y += int(font.get_linesize() * 1.1)
        return y

    @staticmethod
    def _wrap(s: str, font: Any, width: int) -> list[str]:
        lines: list[str] = []
        for para in s.split("\n"):
            cur = ""
            for word in para.split(" "):
                trial = f"{cur} {word}".strip()
                if font.size(trial)[0] <= width or not cur:
                    cur = trial
                else:
                    lines.append(cur)
                    cur = word
            lines.append(cur)
        return lines

    def preview(
        self,
        rgb: np.ndarray | None,
        rect: tuple[int, int, int, int],
        *,
        mirror: bool,
        face_box: tuple[float, float, float, float] | None = None,
        oval: bool = False,
        oval_ok: bool = False,
    ) -> None:
        """Draw the camera frame scaled into ``rect`` (x, y, w, h), optionally with the guidance oval."""
        pg = self.pg
        x, y, w, h = rect
        pg.draw.rect(self.surface, (30, 32, 40), rect)
        if rgb is None:
            return
        fh, fw = rgb.shape[:2]
        scale = min(w / fw, h / fh)
        dw, dh = max(1, int(fw * scale)), max(1, int(fh * scale))
        img = pg.image.frombuffer(np.ascontiguousarray(rgb).tobytes(), (fw, fh), "RGB")
        img = pg.transform.smoothscale(img, (dw, dh))
        if mirror:
            img = pg.transform.flip(img, True, False)
        ox, oy = x + (w - dw) // 2, y + (h - dh) // 2
        self.surface.blit(img, (ox, oy))
        if face_box is not None:
            bx, by, bw, bh = face_box
            if mirror:
                bx = fw - bx - bw
            pg.draw.rect(
                self.surface,
                self.theme.muted,
                (ox + int(bx * scale), oy + int(by * scale), int(bw * scale), int(bh * scale)),
                2,
            )
        if oval:
            ow, oh = int(dh * 0.45), int(dh * 0.62)
            orect = (ox + (dw - ow) // 2, oy + (dh - oh) // 2, ow, oh)
            pg.draw.ellipse(self.surface, self.theme.good if oval_ok else self.theme.accent, orect, 6)

    def progress_bar(
        self, frac: float, y: int, height: int = 22, *, x: int | None = None, width: int | None = None
    ) -> int:
        """A rounded progress bar at ``y``; returns the y below it."""
        if x is None or width is None:
            x = self.theme.margin_px * 3
            width = self.size[0] - 2 * x
        rect = (x, y, width, height)
        self.pg.draw.rect(self.surface, (50, 54, 64), rect, border_radius=height // 2)
        fill = max(0.0, min(1.0, frac))
        if fill > 0:
            r2 = (x, y, int(width * fill), height)
            self.pg.draw.rect(self.surface, self.theme.accent, r2, border_radius=height // 2)
        return y + height + 12
