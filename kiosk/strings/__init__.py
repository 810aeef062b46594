"""UI strings per language, from ``kiosk/strings/<code>.yaml``."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)
_DIR = Path(__file__).resolve().parent


def available_languages() -> list[str]:
    return sorted(p.stem for p in _DIR.glob("*.yaml"))


@lru_cache(maxsize=8)
def load_strings(language: str) -> dict[str, str]:
    """All strings of ``language``; keys missing there fall back to English (and are logged once)."""
    import yaml

    base = yaml.safe_load((_DIR / "en.yaml").read_text(encoding="utf-8"))
    path = _DIR / f"{language}.yaml"
    if language == "en" or not path.is_file():
        if language != "en":
            log.warning("no strings for language %r; using English", language)
        return {str(k): str(v) for k, v in base.items()}
    own = yaml.safe_load(path.read_text(encoding="utf-8"))
    missing = sorted(set(base) - set(own))
    if missing:
        log.warning("language %s lacks %d strings; English used for: %s", language, len(missing), missing)
    merged = {**base, **own}
    return {str(k): str(v) for k, v in merged.items()}


def text(strings: dict[str, str], key: str, **fmt: object) -> str:
    """The string for ``key`` formatted with ``fmt``; the key itself when unknown (visible, not a crash)."""
    s = strings.get(key, key)
    try:
        return s.format(**fmt) if fmt else s
    except (KeyError, IndexError, ValueError):
        return s
