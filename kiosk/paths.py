"""Where the repository's models, the shared evaluation data and the runtime data live."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


def models_dir() -> Path:
    """``EKYC_MODELS_DIR`` or the repository's ``models/``."""
    env = os.environ.get("EKYC_MODELS_DIR")
    return Path(env) if env else REPO_DIR / "models"


def data_dir() -> Path | None:
    """The evaluation data (``EKYC_DATA_DIR`` or ``../shared/data`` beside the repo), or None when absent."""
    env = os.environ.get("EKYC_DATA_DIR")
    candidates = [Path(env)] if env else [REPO_DIR.parent / "shared" / "data"]
    for c in candidates:
        if (c / "MANIFEST.md").is_file():
            return c
    return None


def default_config_path() -> Path:
    return REPO_DIR / "config" / "default.yaml"
