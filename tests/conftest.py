"""Shared fixtures. Tests that need ../shared/data skip with a reason when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The evaluation media (``EKYC_DATA_DIR`` or ``../shared/data``); skips when absent."""
    from kiosk.paths import data_dir as find

    d = find()
    if d is None:
        pytest.skip("evaluation data absent: set EKYC_DATA_DIR or provide ../shared/data (see README)")
    return d


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    return Path(__file__).resolve().parent.parent
