"""Pieces several scenes share: the title block, the step banner, the countdown and the hint line."""

from __future__ import annotations

from kiosk.strings import text
from kiosk.ui.layout import Painter
from kiosk.ui.viewmodel import ViewModel


def header(p: Painter, vm: ViewModel, strings: dict[str, str], title_key: str) -> int:
    t = p.theme
    y = t.margin_px // 2
    if vm.step:
        y = p.text(text(strings, "step_of", step=vm.step), t.small_px, y, color=t.muted)
    return p.text(text(strings, title_key), t.title_px, y)


def footer(p: Painter, vm: ViewModel, strings: dict[str, str]) -> None:
    t = p.theme
    h = p.size[1]
    y = h - t.margin_px - 2 * t.body_px
    if vm.hint:
        y = p.text(text(strings, f"hint_{vm.hint}"), t.body_px, y, color=t.accent)
    if vm.countdown_s is not None:
        p.text(
            text(strings, "seconds_left", seconds=int(vm.countdown_s + 0.999)), t.small_px, y, color=t.muted
        )


def message_screen(
    p: Painter,
    vm: ViewModel,
    strings: dict[str, str],
    title_key: str,
    body_key: str,
    color: tuple[int, int, int],
) -> None:
    t = p.theme
    p.clear()
    h = p.size[1]
    y = h // 3
    y = p.text(text(strings, title_key), t.title_px, y, color=color)
    p.text(text(strings, body_key), t.body_px, y + t.margin_px)
