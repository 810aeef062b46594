"""Matching: a short wait while the worker embeds the live face."""

from __future__ import annotations

from kiosk.strings import text
from kiosk.ui.layout import Painter
from kiosk.ui.scenes.common import header
from kiosk.ui.viewmodel import ViewModel


def render(p: Painter, vm: ViewModel, strings: dict[str, str]) -> None:
    t = p.theme
    p.clear()
    w, h = p.size
    y = header(p, vm, strings, "matching_title")
    p.text(text(strings, "matching_body"), t.body_px, y + t.margin_px, color=t.muted)
    p.preview(vm.preview, (w // 4, h // 3, w // 2, h // 2), mirror=vm.mirror, oval=True, oval_ok=True)
