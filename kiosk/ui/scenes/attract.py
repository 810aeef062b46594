"""Attract screen: what the kiosk does and how to start."""

from __future__ import annotations

from kiosk.strings import text
from kiosk.ui.layout import Painter
from kiosk.ui.viewmodel import ViewModel


def render(p: Painter, vm: ViewModel, strings: dict[str, str]) -> None:
    t = p.theme
    p.clear()
    _w, h = p.size
    y = p.text(text(strings, "attract_title"), t.title_px, h // 5)
    y = p.text(text(strings, "attract_body"), t.body_px, y + t.margin_px)
    if not vm.camera_ok:
        p.text(text(strings, "camera_unavailable"), t.body_px, y + t.margin_px, color=t.bad)
    else:
        p.text(text(strings, "attract_start"), t.body_px, h - 3 * t.margin_px - t.body_px, color=t.accent)
