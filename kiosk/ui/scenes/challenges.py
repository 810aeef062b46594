"""Challenges: the preview on the left; the prompt in large text, countdown and progress on the right."""

from __future__ import annotations

from kiosk.strings import text
from kiosk.ui.layout import Painter
from kiosk.ui.viewmodel import ViewModel


def render(p: Painter, vm: ViewModel, strings: dict[str, str]) -> None:
    t = p.theme
    p.clear()
    w, h = p.size
    m = t.margin_px
    half = w // 2
    p.preview(
        vm.preview, (m // 2, m // 2, half - m, h - m), mirror=vm.mirror, oval=True, face_box=vm.face_box
    )
    x, width = half, half - m // 2
    y = p.text(
        text(strings, "step_of", step=vm.step or 3), t.small_px, m // 2, color=t.muted, x=x, width=width
    )
    y = p.text(text(strings, "challenges_title"), t.body_px, y, x=x, width=width)
    if vm.challenge:
        prompt = text(strings, f"challenge_{vm.challenge}", count=vm.challenge_count or 2)
        y = p.text(prompt, int(t.title_px * 1.1), y + m // 2, color=t.accent, x=x, width=width)
    if vm.challenge_total:
        done = text(strings, "challenge_progress", done=vm.challenge_index, total=vm.challenge_total)
        y = p.text(done, t.small_px, y, color=t.muted, x=x, width=width)
    y = p.progress_bar(vm.progress, y + 6, x=x, width=width)
    if vm.hint:
        y = p.text(
            text(strings, f"hint_{vm.hint}"), t.body_px, y + m // 2, color=t.foreground, x=x, width=width
        )
    if vm.countdown_s is not None:
        secs = int(vm.countdown_s + 0.999)
        p.text(
            text(strings, "seconds_left", seconds=secs),
            t.body_px,
            h - m - t.body_px,
            color=t.muted,
            x=x,
            width=width,
        )
