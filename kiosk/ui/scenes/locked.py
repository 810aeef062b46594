"""locked screen."""

from __future__ import annotations

from kiosk.ui.layout import Painter
from kiosk.ui.scenes.common import message_screen
from kiosk.ui.viewmodel import ViewModel


def render(p: Painter, vm: ViewModel, strings: dict[str, str]) -> None:
    message_screen(p, vm, strings, "locked_title", "locked_body", p.theme.bad)
