"""Per-session biometric scratch space: in memory only, wiped when the session ends.

Default retention is the session: the document portrait, selfies, face crops and embeddings of one
applicant live in a :class:`SessionScratch` and nowhere else, and are zeroed and dropped when the
``with`` block ends, whatever way it ends. Nothing here touches the disk unless an
:class:`~kiosk.records.evidence.EvidenceStore` is passed (only when the config turns evidence on), and
then only items explicitly marked with :meth:`SessionScratch.keep_evidence`, encrypted.

App usage (engine side)::

    with SessionScratch(session_id, evidence=evidence_store_or_None) as scratch:
        scratch.put("portrait", portrait_rgb)          # numpy arrays, bytes, bytearrays, lists...
        scratch.put("probe_embedding", emb)
        ...
        scratch.keep_evidence("selfie", jpeg_bytes, "image/jpeg")   # no-op without an evidence store
    # here: every array put in was zero-filled, every bytearray zeroed, the dict cleared

Zeroing is best effort (Python may hold copies it made itself, e.g. intermediate arrays), but it
removes the buffers the session owns, and no code path writes them to disk, logs or records. Put only
data the session owns: a shared array would be zeroed for its other users too.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def _wipe(value: Any) -> None:
    if isinstance(value, np.ndarray):
        if value.flags.writeable:
            value.fill(0)
    elif isinstance(value, bytearray):
        value[:] = b"\0" * len(value)
    elif isinstance(value, memoryview) and not value.readonly:
        value[:] = b"\0" * value.nbytes
    elif isinstance(value, dict):
        for v in value.values():
            _wipe(v)
        value.clear()
    elif isinstance(value, list):
        for v in value:
            _wipe(v)
        value.clear()
    elif isinstance(value, tuple):
        for v in value:
            _wipe(v)
    else:
        for attr in ("rgb", "embedding", "vector", "image"):
            inner = getattr(value, attr, None)
            if isinstance(inner, np.ndarray):
                _wipe(inner)


class SessionScratch:
    """Holds one session's biometric data in memory; :meth:`wipe` (called on exit) destroys it.

    ``session_id``: for evidence file names and log lines. ``evidence``: an EvidenceStore or None.
    """

    def __init__(self, session_id: str, evidence: Any = None) -> None:
        self.session_id = session_id
        self._evidence = evidence
        self._items: dict[str, Any] = {}
        self._kept: dict[str, tuple[bytearray, str]] = {}
        self.wiped = False

    def __enter__(self) -> SessionScratch:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        # Evidence is kept only for sessions that ended normally; any error discards it.
        self.close(keep_evidence=exc_type is None)

    def put(self, name: str, value: Any) -> None:
        """Store ``value`` under ``name`` (replacing and wiping an older value)."""
        self._check_open()
        old = self._items.pop(name, None)
        if old is not None and old is not value:
            _wipe(old)
        self._items[name] = value

    def get(self, name: str, default: Any = None) -> Any:
        self._check_open()
        return self._items.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def names(self) -> list[str]:
        return sorted(self._items)

    def keep_evidence(self, name: str, data: bytes | bytearray, content_type: str = "image/jpeg") -> bool:
        """Mark encoded bytes for encrypted storage at session end; False (nothing kept) without a store."""
        self._check_open()
        if self._evidence is None:
            return False
        self._kept[name] = (bytearray(data), content_type)
        return True

    def close(self, keep_evidence: bool = True) -> None:
        """Write kept evidence (if a store exists and ``keep_evidence``), then wipe everything. Idempotent."""
        if self.wiped:
            return
        try:
            if keep_evidence and self._evidence is not None:
                for name, (data, ctype) in self._kept.items():
                    try:
                        self._evidence.put(self.session_id, name, bytes(data), ctype)
                    except Exception as exc:
                        log.error("session %s: evidence item %s not stored: %s", self.session_id, name, exc)
        finally:
            self.wipe()

    def wipe(self) -> None:
        """Zero and drop every buffer held. Called by ``close``/``__exit__``; safe to call again."""
        n = len(self._items) + len(self._kept)
        for v in self._items.values():
            _wipe(v)
        for data, _ in self._kept.values():
            _wipe(data)
        self._items.clear()
        self._kept.clear()
        if not self.wiped:
            log.debug("session %s scratch wiped (%d item(s))", self.session_id, n)
        self.wiped = True

    def _check_open(self) -> None:
        if self.wiped:
            raise RuntimeError(f"session {self.session_id} scratch was already wiped")
