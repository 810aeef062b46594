"""One module per state; each exposes ``render(painter, vm, strings)``."""

from __future__ import annotations

import importlib
from typing import Any

from kiosk.flow.states import State


def scene_for(state: State) -> Any:
    """The scene module drawing ``state``."""
    return importlib.import_module(f"kiosk.ui.scenes.{state.value}")
