"""Face capture: preview with the guidance oval; it turns green while the quality gates hold."""

from __future__ import annotations

from kiosk.strings import text
from kiosk.ui.layout import Painter
from kiosk.ui.scenes.common import footer, header
from kiosk.ui.viewmodel import ViewModel


def render(p: Painter, vm: ViewModel, strings: dict[str, str]) -> None:
    t = p.theme
    p.clear()
    w, h = p.size
    y = header(p, vm, strings, "face_title")
    y = p.text(text(strings, "face_body"), t.small_px, y, color=t.muted)
    ph = h - y - 3 * t.margin_px - 2 * t.body_px
    p.preview(
        vm.preview,
        (t.margin_px, y + 10, w - 2 * t.margin_px, max(40, ph)),
        mirror=vm.mirror,
        oval=True,
        oval_ok=vm.hint == "hold_still",
    )
    footer(p, vm, strings)
