"""The pygame window: draws the scene of the current state and turns key/touch input into UI inputs."""

from __future__ import annotations

import enum
import logging
import os
from pathlib import Path
from typing import Any

from kiosk.flow.states import State
from kiosk.strings import load_strings
from kiosk.ui.layout import Painter
from kiosk.ui.scenes import scene_for
from kiosk.ui.theme import Theme, find_font
from kiosk.ui.viewmodel import ViewModel

log = logging.getLogger(__name__)


class UiInput(enum.Enum):
    START = "start"
    ACCEPT = "accept"
    DECLINE = "decline"
    CANCEL = "cancel"
    QUIT = "quit"  # window closed on a developer's laptop; the appliance has no way to quit


class Display:
    """Full-screen (or windowed) pygame display.

    ``headless`` uses SDL's dummy video driver: nothing is shown, screenshots still work.
    ``screenshots_dir``: a PNG is saved at every scene change and every new challenge
    (``NNN_<state>[_<challenge>].png``).
    """

    def __init__(
        self,
        *,
        width_px: int,
        height_px: int,
        fullscreen: bool,
        language: str,
        font_scale: float = 1.0,
        headless: bool = False,
        screenshots_dir: Path | None = None,
        consent_text: str | None = None,
    ) -> None:
        if headless:
            os.environ["SDL_VIDEODRIVER"] = "dummy"
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame

        self.pg = pygame
        pygame.display.init()
        pygame.font.init()
        flags = pygame.FULLSCREEN if (fullscreen and not headless) else 0
        self.surface = pygame.display.set_mode((width_px, height_px), flags)
        pygame.display.set_caption("eKYC kiosk")
        if fullscreen and not headless:
            pygame.mouse.set_visible(False)
        self.fullscreen = fullscreen and not headless
        self.painter = Painter(self.surface, Theme().scaled(font_scale), find_font())
        self.strings = load_strings(language)
        self.consent_text = consent_text
        self.screenshots_dir = screenshots_dir
        if screenshots_dir is not None:
            screenshots_dir.mkdir(parents=True, exist_ok=True)
        self._last_state: tuple[State, str | None] | None = None  # (scene, challenge) last screenshotted
        self._shots = 0
        self.screenshots: list[Path] = []

    def set_language(self, language: str) -> None:
        self.strings = load_strings(language)

    def render(self, vm: ViewModel) -> None:
        scene = scene_for(vm.state)
        if vm.state is State.CONSENT:
            scene.render(self.painter, vm, self.strings, self.consent_text)
        else:
            scene.render(self.painter, vm, self.strings)
        self.pg.display.flip()
        key = (vm.state, vm.challenge)
        if key != self._last_state:
            self._last_state = key
            if self.screenshots_dir is not None:
                self._shots += 1
                suffix = f"_{vm.challenge}" if vm.challenge else ""
                path = self.screenshots_dir / f"{self._shots:03d}_{vm.state.value}{suffix}.png"
                self.pg.image.save(self.surface, str(path))
                self.screenshots.append(path)

    def poll(self) -> list[UiInput]:
        """Translate pending pygame events. Touch: right half accepts, left half declines/cancels."""
        pg = self.pg
        out: list[UiInput] = []
        w = self.surface.get_width()
        for e in pg.event.get():
            if e.type == pg.QUIT and not self.fullscreen:
                out.append(UiInput.QUIT)
            elif e.type == pg.KEYDOWN:
                if e.key in (pg.K_y, pg.K_RETURN, pg.K_KP_ENTER):
                    out.extend([UiInput.START, UiInput.ACCEPT])
                elif e.key in (pg.K_n, pg.K_ESCAPE, pg.K_BACKSPACE):
                    out.extend([UiInput.DECLINE, UiInput.CANCEL])
                else:
                    out.append(UiInput.START)
            elif e.type in (pg.MOUSEBUTTONDOWN, pg.FINGERDOWN):
                x = e.x * w if e.type == pg.FINGERDOWN else e.pos[0]
                out.append(UiInput.START)
                out.append(UiInput.ACCEPT if x >= w / 2 else UiInput.DECLINE)
        return out

    def close(self) -> None:
        try:
            self.pg.display.quit()
        except Exception as exc:  # closing must never raise during shutdown
            log.debug("display close: %s", exc)


def make_display(cfg: Any, *, headless: bool, screenshots_dir: Path | None) -> Display:
    d = cfg.display
    consent = cfg.consent.text.get(cfg.language) if cfg.consent.text else None
    return Display(
        width_px=d.width_px,
        height_px=d.height_px,
        fullscreen=d.fullscreen,
        language=cfg.language,
        font_scale=d.font_scale,
        headless=headless,
        screenshots_dir=screenshots_dir,
        consent_text=consent,
    )
