"""One JSON line per session event (``--events FILE``), never an image or a template."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections import deque
from pathlib import Path
from typing import Any, TextIO

log = logging.getLogger(__name__)


class EventLog:
    """Appends JSON lines to a file (or stdout for ``-``); flushes each line so a crash loses nothing."""

    def __init__(self, path: str | Path | None) -> None:
        self._lock = threading.Lock()
        self._fh: TextIO | None
        self._own = False
        if path is None:
            self._fh = None
        elif str(path) == "-":
            self._fh = sys.stdout
        else:
            p = Path(path)
            p.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(p, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run
            self._own = True
        self.lines: deque[dict[str, Any]] = deque(maxlen=2000)  # recent lines, for tests and the demo

    def write(self, kind: str, t: float, **fields: Any) -> None:
        line = {"event": kind, "t": round(t, 3), **fields}
        self.lines.append(line)
        if self._fh is None:
            return
        with self._lock:
            self._fh.write(json.dumps(line, default=str, sort_keys=False) + "\n")
            self._fh.flush()

    def close(self) -> None:
        if self._own and self._fh is not None:
            self._fh.close()
        self._fh = None
