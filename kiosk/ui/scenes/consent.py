"""Consent: what happens to the applicant's images, agree or cancel."""

from __future__ import annotations

from kiosk.strings import text
from kiosk.ui.layout import Painter
from kiosk.ui.scenes.common import footer
from kiosk.ui.viewmodel import ViewModel


def render(p: Painter, vm: ViewModel, strings: dict[str, str], consent_text: str | None = None) -> None:
    t = p.theme
    p.clear()
    y = p.text(text(strings, "consent_title"), t.title_px, t.margin_px)
    y = p.text(consent_text or text(strings, "consent_body"), t.body_px, y + t.margin_px)
    y = p.text(text(strings, "consent_accept"), t.body_px, y + t.margin_px, color=t.good)
    p.text(text(strings, "consent_decline"), t.body_px, y, color=t.muted)
    footer(p, vm, strings)
