"""Transactional outbox: deliver logged decision records to the bank, at least once, in log order.

:meth:`AuditLog.append <kiosk.records.store.AuditLog.append>` inserts one ``outbox`` row per configured
sink in the same SQLite transaction as the record, so a record is never logged without being queued.
:class:`Outbox` (own connection, own thread) sends each queued record to its sink and deletes the row
only after the sink acknowledged it (MQTT PUBACK at QoS 1, HTTP 2xx). A crash between the ack and the
delete sends the record again: receivers de-duplicate on ``record_id``, which every payload carries.

Back-off: when a sink fails (broker down, network gone) the outbox stops trying that sink for
``retry_interval_s`` doubling per consecutive failure up to ``max_retry_interval_s``, with up to 10 %
seeded jitter so a fleet does not reconnect in lock-step. Records stay in the outbox meanwhile, however
long; a record a sink rejects outright (HTTP 4xx) is retried at the maximum interval and reported by
``ekyc-kiosk doctor`` and :meth:`Outbox.status`.

App wiring::

    sinks = build_sinks(cfg.records)               # {} when no delivery is configured
    log = AuditLog(db, key, kiosk_id, sinks=list(sinks))
    outbox = Outbox(db, sinks, cfg.records.outbox); outbox.start()
    ... stored = log.append(rec); outbox.notify()   # wake the thread now rather than at the next tick
    outbox.stop()                                   # on shutdown

Logs name record ids, sinks and errors only, never payloads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import random
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kiosk.clock import Clock, MonotonicClock
from kiosk.errors import StorageError
from kiosk.records.sink import DeliveryError, Sink
from kiosk.records.store import Entry, connect

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class DeliveryReport:
    delivered: list[tuple[str, str]]  # (sink, record_id)
    failed: list[tuple[str, str, str]]  # (sink, record_id, error)
    pending: int  # rows left in the outbox after this pass


@dataclasses.dataclass
class _SinkState:
    failures: int = 0
    not_before: float = 0.0
    last_error: str = ""


class Outbox:
    """Delivers queued records from the log DB at ``db_path`` to ``sinks`` (name -> :class:`Sink`).

    ``retry_interval_s`` (s): first back-off and the idle poll period. ``max_retry_interval_s`` (s): cap.
    ``batch_size``: rows per pass. ``clock``: monotonic time for back-off (injected; tests use FakeClock).
    ``rng``: seeded jitter source. The constructor makes every queued row due now: back-off times from a
    previous run are meaningless after a restart.
    """

    def __init__(
        self,
        db_path: str | Path,
        sinks: Mapping[str, Sink],
        retry_interval_s: float = 5.0,
        max_retry_interval_s: float = 300.0,
        batch_size: int = 50,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.sinks = dict(sinks)
        self.retry_interval_s = float(retry_interval_s)
        self.max_retry_interval_s = max(float(max_retry_interval_s), self.retry_interval_s)
        self.batch_size = int(batch_size)
        self.clock: Clock = clock or MonotonicClock()
        self._rng = rng or random.Random(0)
        self._state = {name: _SinkState() for name in self.sinks}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pass_lock = threading.Lock()  # one delivery pass at a time
        self._db = threading.RLock()  # serialises the shared connection (passes run on the outbox thread)
        self._con = connect(self.db_path, create=True, shared=True)
        self._con.execute("UPDATE outbox SET not_before = 0")
        self._warned_unknown: set[str] = set()

    @classmethod
    def from_config(
        cls, db_path: str | Path, sinks: Mapping[str, Sink], outbox_cfg: Any, **kw: Any
    ) -> Outbox:
        return cls(
            db_path,
            sinks,
            retry_interval_s=outbox_cfg.retry_interval_s,
            max_retry_interval_s=outbox_cfg.max_retry_interval_s,
            batch_size=outbox_cfg.batch_size,
            **kw,
        )

    # -- one pass ----------------------------------------------------------------------------------------

    def deliver_pending(self) -> DeliveryReport:
        """Try every due row once (oldest first); delete each one its sink acknowledged."""
        delivered: list[tuple[str, str]] = []
        failed: list[tuple[str, str, str]] = []
        with self._pass_lock:
            now = self.clock.now()
            with self._db:
                rows = self._con.execute(
                    "SELECT o.record_id, o.sink, o.attempts, o.not_before, "
                    "e.seq, e.record_id, e.entry, e.hash, e.signature, e.key_id "
                    "FROM outbox o LEFT JOIN entries e ON e.record_id = o.record_id "
                    "ORDER BY e.seq, o.sink LIMIT ?",
                    (self.batch_size * max(1, len(self.sinks)),),
                ).fetchall()
            down: set[str] = set()
            for rid, sink_name, attempts, not_before, *erow in rows:
                sink = self.sinks.get(sink_name)
                if sink is None:
                    if sink_name not in self._warned_unknown:
                        self._warned_unknown.add(sink_name)
                        log.warning(
                            "outbox holds records for sink %r, which is not configured; kept", sink_name
                        )
                    continue
                st = self._state[sink_name]
                if sink_name in down or st.not_before > now or not_before > now:
                    continue
                if erow[0] is None:
                    log.error("outbox row for record %s has no log entry; kept for investigation", rid)
                    continue
                entry = Entry(
                    int(erow[0]), str(erow[1]), str(erow[2]), str(erow[3]), str(erow[4]), str(erow[5])
                )
                try:
                    sink.deliver(rid, entry.delivery_payload())
                except DeliveryError as exc:
                    failed.append((sink_name, rid, exc.message))
                    self._record_failure(rid, sink_name, int(attempts), exc, now)
                    if not exc.permanent:
                        down.add(sink_name)
                    continue
                except Exception as exc:  # a sink bug must not kill the delivery thread
                    failed.append((sink_name, rid, repr(exc)))
                    log.exception("sink %s raised while delivering record %s", sink_name, rid)
                    self._record_failure(rid, sink_name, int(attempts), DeliveryError(repr(exc)), now)
                    down.add(sink_name)
                    continue
                self._delete(rid, sink_name)
                st.failures, st.not_before, st.last_error = 0, 0.0, ""
                delivered.append((sink_name, rid))
                log.info("record %s delivered to %s (attempt %d)", rid, sink_name, int(attempts) + 1)
            pending = self.pending()
        return DeliveryReport(delivered, failed, pending)

    def _backoff(self, failures: int) -> float:
        base = min(self.retry_interval_s * (2 ** max(0, failures - 1)), self.max_retry_interval_s)
        return base * (1.0 + 0.1 * self._rng.random())

    def _record_failure(
        self, rid: str, sink_name: str, attempts: int, exc: DeliveryError, now: float
    ) -> None:
        st = self._state[sink_name]
        if exc.permanent:
            row_not_before = now + self.max_retry_interval_s
            log.error(
                "sink %s rejected record %s (kept, retried in %.0f s): %s",
                sink_name,
                rid,
                self.max_retry_interval_s,
                exc.message,
            )
        else:
            st.failures += 1
            st.not_before = now + self._backoff(st.failures)
            st.last_error = exc.message
            row_not_before = 0.0
            log.warning(
                "delivery of record %s to %s failed (attempt %d, retry in %.1f s): %s",
                rid,
                sink_name,
                attempts + 1,
                st.not_before - now,
                exc.message,
            )
        try:
            with self._db:
                self._con.execute(
                    "UPDATE outbox SET attempts = attempts + 1, not_before = ?, last_error = ? "
                    "WHERE record_id = ? AND sink = ?",
                    (row_not_before, exc.message[:500], rid, sink_name),
                )
        except sqlite3.Error as e:
            log.error("could not note the failed attempt for record %s: %s", rid, e)

    def _delete(self, rid: str, sink_name: str) -> None:
        try:
            with self._db:
                self._con.execute("DELETE FROM outbox WHERE record_id = ? AND sink = ?", (rid, sink_name))
        except sqlite3.Error as exc:
            # Delivered but still queued: it will be sent again and de-duplicated by record_id.
            log.error("record %s delivered to %s but not removed from the outbox: %s", rid, sink_name, exc)

    # -- state -------------------------------------------------------------------------------------------

    def pending(self, sink: str | None = None) -> int:
        """Rows still queued (for one sink, or all)."""
        with self._db:
            if sink is None:
                return int(self._con.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
            return int(self._con.execute("SELECT COUNT(*) FROM outbox WHERE sink = ?", (sink,)).fetchone()[0])

    def status(self) -> dict[str, Any]:
        """Per sink: queued rows, consecutive failures, last error (for doctor and the operator screen)."""
        out: dict[str, Any] = {}
        with self._db:
            rows = self._con.execute(
                "SELECT sink, COUNT(*), MAX(attempts) FROM outbox GROUP BY sink"
            ).fetchall()
        for name, count, max_attempts in rows:
            st = self._state.get(name, _SinkState())
            out[name] = {
                "queued": int(count),
                "max_attempts": int(max_attempts or 0),
                "failures": st.failures,
                "last_error": st.last_error,
                "configured": name in self.sinks,
            }
        for name, st in self._state.items():
            out.setdefault(
                name,
                {
                    "queued": 0,
                    "max_attempts": 0,
                    "failures": st.failures,
                    "last_error": st.last_error,
                    "configured": True,
                },
            )
        return out

    # -- thread ------------------------------------------------------------------------------------------

    def notify(self) -> None:
        """Wake the delivery thread (call after each append)."""
        self._wake.set()

    def enqueue(self, stored: Any = None) -> None:
        """Same as :meth:`notify`: ``AuditLog.append`` already queued the record in its own transaction."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_pending()
            except (sqlite3.Error, StorageError) as exc:
                log.error("outbox pass failed: %s", exc)
            self._wake.wait(self._idle_wait())
            self._wake.clear()
        for s in self.sinks.values():
            try:
                s.close()
            except Exception as exc:
                log.warning("closing sink %s: %s", getattr(s, "name", "?"), exc)

    def _idle_wait(self) -> float:
        now = self.clock.now()
        waits = [st.not_before - now for st in self._state.values() if st.not_before > now]
        return max(0.05, min([self.retry_interval_s, *waits]))

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread (the current delivery finishes or times out first) and close the sinks."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("outbox thread still busy after %.0f s; leaving it (daemon)", timeout_s)
            self._thread = None

    def close(self) -> None:
        """For pass-by-pass use without :meth:`start`: close sinks and the connection."""
        self.stop()
        for s in self.sinks.values():
            try:
                s.close()
            except Exception as exc:
                log.warning("closing sink %s: %s", getattr(s, "name", "?"), exc)
        with self._db, contextlib.suppress(sqlite3.Error):
            self._con.close()


def build_sinks(records_cfg: Any, base_dir: Path | None = None) -> dict[str, Sink]:
    """The sinks the config turns on (``records.outbox.mqtt.enabled`` / ``.webhook.enabled``).

    ``base_dir`` resolves relative credential file paths (default: the working directory).
    """
    sinks: dict[str, Sink] = {}
    ob = records_cfg.outbox
    if ob.mqtt.enabled:
        from kiosk.records.mqtt import MqttSink

        sinks["mqtt"] = MqttSink(ob.mqtt, records_cfg.kiosk_id, base_dir=base_dir)
    if ob.webhook.enabled:
        from kiosk.records.webhook import WebhookSink

        sinks["webhook"] = WebhookSink(ob.webhook, records_cfg.kiosk_id, base_dir=base_dir)
    return sinks
