"""The model manifest (``models/manifest.json``) and sha256 checks before any model is loaded.

A model whose bytes do not match the manifest is refused: the kiosk must not start on a tampered
or half-copied file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

from kiosk.errors import ModelError
from kiosk.paths import models_dir

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
_verified: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def load_manifest(directory: Path | None = None) -> dict[str, Any]:
    d = directory or models_dir()
    p = d / MANIFEST_NAME
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"model manifest missing: {p}") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"model manifest unreadable: {p}: {exc}") from None
    if not isinstance(data, dict) or "models" not in data:
        raise ModelError(f"model manifest has no 'models' table: {p}")
    return data


def model_entry(name: str, directory: Path | None = None) -> dict[str, Any]:
    """The manifest entry of model ``name`` (e.g. ``face_landmarker``, ``face_embedder_int8``)."""
    models = load_manifest(directory)["models"]
    if name not in models:
        raise ModelError(f"model {name!r} is not in the manifest (have: {', '.join(sorted(models))})")
    entry = models[name]
    if not isinstance(entry, dict):
        raise ModelError(f"manifest entry {name!r} is not a table")
    return entry


def verified_model_path(name: str, directory: Path | None = None) -> Path:
    """Path of model ``name`` after checking its sha256 against the manifest.

    Raises :class:`ModelError` naming the file, the expected and the actual digest.
    """
    d = directory or models_dir()
    entry = model_entry(name, d)
    path = d / str(entry["file"])
    expected = str(entry.get("sha256", ""))
    try:
        st = path.stat()
    except OSError:
        raise ModelError(f"model file missing: {path}") from None
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _lock:
        actual = _verified.get(key)
    if actual is None:
        actual = sha256_file(path)
        with _lock:
            _verified[key] = actual
    if actual != expected:
        raise ModelError(
            f"model {name} failed its integrity check: {path} has sha256 {actual[:16]}..., "
            f"the manifest says {expected[:16]}...; reinstall the models (refusing to start)",
            code="model_tampered",
        )
    return path


def model_sha256s(names: list[str], directory: Path | None = None) -> dict[str, str]:
    """sha256 of each named model as listed in the manifest (for decision records)."""
    return {n: str(model_entry(n, directory).get("sha256", "")) for n in names}
