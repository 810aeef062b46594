"""Where the records live on disk, and one call that opens everything the app needs from config.

Paths: ``records.data_dir`` (relative paths are taken from the working directory; the appliance uses
an absolute ``/var/lib/ekyc-kiosk``), the audit DB ``records.audit_db_file`` and the signing key
``records.signing_key_file`` inside it.

App wiring (``kiosk/app.py``)::

    rt = open_records(cfg)          # StorageError (clear message) when the key is missing or the log altered
    rt.outbox.start()
    ...
    ok, free_mb = disk_ok(rt.data_dir, cfg.records.min_free_mb)   # before each session
    with SessionScratch(session_id, evidence=rt.evidence) as scratch: ...
    stored = rt.log.append(record.to_dict()); rt.outbox.notify()   # then show the result screen
    ...
    rt.close()                      # stops the outbox thread, closes the DB
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.clock import Clock
from kiosk.records.evidence import EvidenceStore
from kiosk.records.keys import load_key
from kiosk.records.outbox import Outbox, build_sinks
from kiosk.records.store import AuditLog

log = logging.getLogger(__name__)


def load_config_arg(path: str | Path | None) -> tuple[Any, str]:
    """``(config, source)`` for a command's ``--config``: the file given, else ``config/default.yaml`` when it
    exists, else the built-in defaults. Raises :class:`~kiosk.config.ConfigValidationError`."""
    from kiosk.config import load_config
    from kiosk.paths import default_config_path

    if path is not None:
        return load_config(path), str(path)
    p = default_config_path()
    if p.is_file():
        return load_config(p), str(p)
    from kiosk.config.schema import KioskConfig

    return KioskConfig.model_validate({}), "<built-in defaults>"


def data_dir_of(records_cfg: Any, cwd: Path | None = None) -> Path:
    p = Path(records_cfg.data_dir).expanduser()
    return p if p.is_absolute() else (cwd or Path.cwd()) / p


def audit_db_path(records_cfg: Any, cwd: Path | None = None) -> Path:
    return data_dir_of(records_cfg, cwd) / records_cfg.audit_db_file


def signing_key_path(records_cfg: Any, cwd: Path | None = None) -> Path:
    return data_dir_of(records_cfg, cwd) / records_cfg.signing_key_file


@dataclasses.dataclass
class RecordsRuntime:
    data_dir: Path
    log: AuditLog
    outbox: Outbox
    evidence: EvidenceStore | None
    purge_interval_s: float = 3600.0
    _last_purge: float | None = None

    def housekeeping(self, now: float) -> None:
        """Call from the idle loop with the monotonic time (s): purges expired evidence at most hourly."""
        if self.evidence is None:
            return
        if self._last_purge is None or now - self._last_purge >= self.purge_interval_s:
            self._last_purge = now
            try:
                self.evidence.purge()
            except OSError as exc:
                log.error("evidence purge failed: %s", exc)

    def close(self) -> None:
        self.outbox.stop()
        self.outbox.close()
        self.log.close()


def open_records(
    cfg: Any,
    clock: Clock | None = None,
    wall: Callable[[], float] = time.time,
    cwd: Path | None = None,
) -> RecordsRuntime:
    """Load the device key, open the audit log and the outbox (not started), and the evidence store
    (None unless the config turns it on). Purges expired evidence on open."""
    rc = cfg.records
    d = data_dir_of(rc, cwd)
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = load_key(d / rc.signing_key_file)
    sinks = build_sinks(rc)
    audit = AuditLog(d / rc.audit_db_file, key, rc.kiosk_id, sinks=list(sinks), wall=wall)
    outbox = Outbox.from_config(d / rc.audit_db_file, sinks, rc.outbox, clock=clock)
    evidence = EvidenceStore.from_config(rc, d, wall=wall)
    if evidence is not None:
        evidence.purge()
    log.info(
        "records open: %s (key %s, sinks: %s, evidence: %s)",
        d,
        key.key_id,
        ", ".join(sinks) or "none",
        "on" if evidence else "off",
    )
    return RecordsRuntime(d, audit, outbox, evidence)
