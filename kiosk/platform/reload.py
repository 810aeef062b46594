"""SIGHUP config reload that keeps the running config when the new file is bad.

Usage in the app (``systemctl reload ekyc-kiosk`` sends SIGHUP through the unit's ``ExecReload=``)::

    reloader = ConfigReloader(config_path, cfg)
    signal.signal(signal.SIGHUP, lambda *_: reloader.request())   # async-signal-safe: sets a flag only
    while running:
        cfg = reloader.poll()        # between sessions: reloads once per request, else returns current
        ...

:meth:`ConfigReloader.reload` can also be called directly. A file that fails validation is logged at
ERROR with every issue (key path and YAML line) and the previous config stays in force; the kiosk never
runs half-reloaded. Whether a changed value takes effect mid-session is the app's choice: poll between
sessions.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class ConfigReloader:
    """Holds the config in force (``current``) and swaps it only for a valid new one.

    ``path``: the YAML file to re-read. ``current``: the config already loaded from it.
    ``last_error`` holds the most recent :class:`~kiosk.config.ConfigValidationError` (None after a
    successful reload); ``reloads`` counts successful reloads.
    """

    def __init__(self, path: str | Path, current: Any) -> None:
        self.path = Path(path)
        self.current = current
        self.last_error: Exception | None = None
        self.reloads = 0
        self._requested = threading.Event()

    def request(self) -> None:
        """Mark a reload as wanted. Safe to call from a signal handler (no I/O, no locks held long)."""
        self._requested.set()

    @property
    def pending(self) -> bool:
        return self._requested.is_set()

    def poll(self) -> Any:
        """Reload if :meth:`request` was called since the last poll; return the config in force."""
        if self._requested.is_set():
            self._requested.clear()
            return self.reload()
        return self.current

    def reload(self) -> Any:
        """Re-read ``path``: return the new config, or keep and return the old one and log why."""
        from kiosk.config import ConfigValidationError, config_sha256, load_config

        try:
            new = load_config(self.path)
        except ConfigValidationError as exc:
            self.last_error = exc
            log.error("config reload rejected, keeping the running config: %s", exc)
            return self.current
        old_sha = config_sha256(self.current) if self.current is not None else None
        new_sha = config_sha256(new)
        self.current = new
        self.last_error = None
        self.reloads += 1
        if old_sha == new_sha:
            log.info("config reloaded from %s (unchanged, sha256 %s)", self.path, new_sha[:12])
        else:
            log.info(
                "config reloaded from %s (sha256 %s -> %s)", self.path, (old_sha or "none")[:12], new_sha[:12]
            )
        return new
