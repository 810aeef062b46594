"""Challenges: the prompt in large text, countdown, progress of this challenge and of the sequence."""

from __future__ import annotations

from kiosk.strings import text
from kiosk.ui.layout import Painter
from kiosk.ui.scenes.common import footer, header
from kiosk.ui.viewmodel import ViewModel


def render(p: Painter, vm: ViewModel, strings: dict[str, str]) -> None:
    t = p.theme
    p.clear()
    w, h = p.size
    y = header(p, vm, strings, "challenges_title")
    if vm.challenge:
        prompt = text(strings, f"challenge_{vm.challenge}", count=vm.challenge_count or 2)
        y = p.text(prompt, int(t.title_px * 1.2), y + 10, color=t.accent)
    if vm.challenge_total:
        done = text(strings, "challenge_progress", done=vm.challenge_index, total=vm.challenge_total)
        y = p.text(done, t.small_px, y, color=t.muted)
    y = p.progress_bar(vm.progress, y + 6)
    ph = h - y - 3 * t.margin_px - 2 * t.body_px
    p.preview(vm.preview, (t.margin_px, y, w - 2 * t.margin_px, max(40, ph)), mirror=vm.mirror, oval=True)
    footer(p, vm, strings)
