"""Runs model inference off the UI thread; results come back as engine events through a queue.

``inline=True`` runs each job at submit time instead (deterministic replays and tests); the results
still go through the same queue, so the main loop sees no difference.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from kiosk.flow import events as ev

log = logging.getLogger(__name__)

Job = Callable[[], Any]


class Worker:
    def __init__(self, *, inline: bool = False, name: str = "kiosk-worker") -> None:
        self.inline = inline
        self.results: queue.Queue[Any] = queue.Queue()
        self._jobs: queue.Queue[tuple[str, Job] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        if not inline:
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()

    def submit(self, label: str, job: Job) -> None:
        """Run ``job`` (returns an engine event or None); a raised exception becomes a ``Fault`` event."""
        if self.inline:
            self._execute(label, job)
        else:
            self._jobs.put((label, job))

    def _execute(self, label: str, job: Job) -> None:
        try:
            result = job()
        except Exception as exc:
            log.exception("worker job %s failed", label)
            result = ev.Fault(f"worker_error:{label}", f"{type(exc).__name__}: {exc}")
        if result is not None:
            self.results.put(result)

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            self._execute(*item)

    def drain(self) -> list[Any]:
        out = []
        while True:
            try:
                out.append(self.results.get_nowait())
            except queue.Empty:
                return out

    def busy(self) -> bool:
        return not self._jobs.empty()

    def close(self, timeout_s: float = 5.0) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(timeout_s)
            self._thread = None
