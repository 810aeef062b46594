"""Result: the decision in words, never a score."""

from __future__ import annotations

from kiosk.ui.layout import Painter
from kiosk.ui.scenes.common import message_screen
from kiosk.ui.viewmodel import ViewModel


def render(p: Painter, vm: ViewModel, strings: dict[str, str]) -> None:
    t = p.theme
    decision = vm.decision or "aborted"
    color = {"approved": t.good, "rejected": t.bad}.get(decision, t.accent)
    message_screen(p, vm, strings, f"result_{decision}_title", f"result_{decision}_body", color)
