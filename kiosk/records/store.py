"""Append-only, hash-chained, signed audit log in SQLite (WAL, ``synchronous=FULL``), plus its verifier.

One SQLite file (``records.data_dir``/``records.audit_db_file``) holds:

``entries``  one row per decision record: ``seq`` (stored order, not signed), ``record_id``, ``entry`` (the
             canonical-JSON envelope below, exactly the bytes that were hashed and signed), ``hash``
             (sha256 of ``entry``, hex), ``signature`` (Ed25519 over ``entry``, base64), ``key_id``.
``head``     one signed row naming the last entry (its index, record id and hash): deleting records at
             the end of the log (truncation) is detectable, not just gaps in the middle.
``outbox``   one row per (record, sink) still to deliver; written in the same transaction as the entry,
             so a record can never be logged without being queued (see :mod:`kiosk.records.outbox`).
``keys``     public keys seen (informational; verification trusts a key only when given one).

The envelope::

    {"v": 1, "index": k, "record_id": ..., "prev_record_id": ..., "prev_hash": sha256 of entry k-1
     (64 zeros for k = 1), "kiosk_id": ..., "key_id": ..., "logged_at": wall-clock ISO UTC,
     "record": {the decision record}}

:meth:`AuditLog.append` returns only after ``COMMIT`` (WAL fsynced, ``synchronous=FULL``): once it
returns, the record survives power loss and ``kill -9``. The app shows the result screen after that.

:func:`verify_db` / :meth:`AuditLog.verify` walk the whole log and name every problem with its position
and record id: an **edited** entry (hash or signature fails), a **deleted** one (gap in the signed
indices; the successor's ``prev_record_id`` names it), an **inserted** one (no valid signature and no free
position), a **reordered** one (stored after an entry it was signed before), and a **truncated** tail
(signed head beyond the last entry). What it cannot see locally: the whole file replaced by an older
copy of itself; the bank detects that from the indices and hashes it has already received.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from kiosk.errors import KioskError, StorageError
from kiosk.records.keys import SigningKey, key_id_of, public_key_from_raw, public_key_raw
from kiosk.records.record import canonical_json, utc_now_iso, validate_record

log = logging.getLogger(__name__)

ENTRY_VERSION = 1
GENESIS_HASH = "0" * 64
BUSY_TIMEOUT_MS = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL UNIQUE,
    entry TEXT NOT NULL,
    hash TEXT NOT NULL,
    signature TEXT NOT NULL,
    key_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    entry TEXT NOT NULL,
    signature TEXT NOT NULL,
    key_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (key_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, first_seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    record_id TEXT NOT NULL,
    sink TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    PRIMARY KEY (record_id, sink)
);
"""


@dataclasses.dataclass(frozen=True)
class StoredRecord:
    """What :meth:`AuditLog.append` returns once the record is durable."""

    record_id: str
    seq: int  # 1-based position in the chain (the signed index)
    hash: str  # sha256 hex of the stored entry


@dataclasses.dataclass(frozen=True)
class Entry:
    """One stored row, as read back."""

    seq: int
    record_id: str
    entry: str
    hash: str
    signature: str
    key_id: str

    @property
    def envelope(self) -> dict[str, Any]:
        return dict(json.loads(self.entry))

    @property
    def record(self) -> dict[str, Any]:
        return dict(self.envelope.get("record", {}))

    def as_export(self) -> dict[str, Any]:
        """The JSON-lines export / delivery form: the signed entry text plus what verifies it."""
        env = self.envelope
        return {
            "v": ENTRY_VERSION,
            "record_id": self.record_id,
            "index": env.get("index"),
            "kiosk_id": env.get("kiosk_id"),
            "prev_hash": env.get("prev_hash"),
            "hash": self.hash,
            "key_id": self.key_id,
            "signature": self.signature,
            "entry": self.entry,
        }

    def delivery_payload(self) -> bytes:
        """Bytes sent to MQTT / the webhook. ``entry`` is the exact signed text (verify it as is)."""
        return canonical_json(self.as_export())


@dataclasses.dataclass(frozen=True)
class Issue:
    """One problem found by :func:`verify_db`. ``position`` is the signed chain index when known."""

    kind: str  # edited | deleted | inserted | reordered | truncated | head | key | chain
    position: int | None
    record_id: str | None
    message: str
    stored_seq: int | None = None

    def __str__(self) -> str:
        where = f"position {self.position}" if self.position is not None else "position ?"
        if self.stored_seq is not None and self.stored_seq != self.position:
            where += f" (stored as row {self.stored_seq})"
        rid = f"record {self.record_id}" if self.record_id else "record ?"
        return f"{self.kind}: {rid} at {where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    head_index: int | None
    issues: list[Issue]
    keys_trusted: bool  # False when only the keys stored inside the log were available
    key_ids: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_index": self.head_index,
            "keys_trusted": self.keys_trusted,
            "key_ids": self.key_ids,
            "issues": [i.as_dict() for i in self.issues],
        }


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _unb64(s: str) -> bytes:
    return base64.b64decode(s.encode("ascii"), validate=True)


def connect(path: str | Path, *, create: bool, shared: bool = False) -> sqlite3.Connection:
    """Open the log DB with the durability settings (WAL, synchronous=FULL). ``create``: make it if missing.

    A new file is created 0600 before SQLite opens it; SQLite gives its -wal/-shm files the same mode.
    ``shared``: the connection may be used from several threads (the caller serialises access).
    """
    p = Path(path)
    if not p.exists():
        if not create:
            raise StorageError(f"audit log {p} does not exist", code="audit_missing")
        p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError as exc:
            raise StorageError(f"cannot create audit log {p}: {exc.strerror}") from None
    try:
        con = sqlite3.connect(
            str(p), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=not shared
        )
        con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StorageError(f"audit log {p}: SQLite refused WAL mode (got {mode})")
        con.execute("PRAGMA synchronous=FULL")
        con.execute("PRAGMA trusted_schema=OFF")
        con.executescript(SCHEMA)
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"audit log {p} cannot be opened: {exc}", code="audit_unreadable") from None
    return con


class AuditLog:
    """The kiosk's writer (one per process, used from one thread; the outbox has its own connection).

    ``path``: the SQLite file (created 0600 with its directory 0700). ``signer``: the device key.
    ``kiosk_id``: stamped into every envelope. ``sinks``: outbox sink names every new record is queued
    for (e.g. ``("mqtt", "webhook")``; empty: no delivery). ``wall``: wall clock (s since epoch) for
    ``logged_at``. Opening checks that the signed head matches the last entry and raises
    :class:`StorageError` (code ``audit_tampered``) otherwise: a kiosk must not keep writing onto a log
    that was altered.
    """

    def __init__(
        self,
        path: str | Path,
        signer: SigningKey,
        kiosk_id: str,
        sinks: Sequence[str] = (),
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.signer = signer
        self.kiosk_id = kiosk_id
        self.sinks = tuple(sinks)
        self._wall = wall
        self._lock = threading.RLock()
        # Usable from any one thread at a time (the app may log from its worker); the lock serialises.
        self._con = connect(self.path, create=True, shared=True)
        self._register_key()
        self._check_head()

    # -- writing -----------------------------------------------------------------------------------------

    def append(self, record: Mapping[str, Any], sinks: Sequence[str] | None = None) -> StoredRecord:
        """Validate, chain, sign and commit ``record``; return only after the commit is durable.

        Raises :class:`~kiosk.errors.InputError` for a record that is malformed or carries biometric
        data, :class:`StorageError` when the disk refuses the write (full, read-only, I/O error). On any
        error nothing is written.
        """
        rec = validate_record(record)
        rec.setdefault("created_at", utc_now_iso(self._wall()))  # wall clock, if the app did not stamp it
        queue = self.sinks if sinks is None else tuple(sinks)
        with self._lock:
            con = self._con
            try:
                con.execute("BEGIN IMMEDIATE")
                try:
                    last = con.execute(
                        "SELECT record_id, entry, hash FROM entries ORDER BY seq DESC LIMIT 1"
                    ).fetchone()
                    if last is None:
                        index, prev_hash, prev_rid = 1, GENESIS_HASH, None
                    else:
                        index = int(json.loads(last[1])["index"]) + 1
                        prev_hash, prev_rid = str(last[2]), str(last[0])
                    envelope = {
                        "v": ENTRY_VERSION,
                        "index": index,
                        "record_id": rec["record_id"],
                        "prev_record_id": prev_rid,
                        "prev_hash": prev_hash,
                        "kiosk_id": self.kiosk_id,
                        "key_id": self.signer.key_id,
                        "logged_at": utc_now_iso(self._wall()),
                        "record": rec,
                    }
                    body = canonical_json(envelope)
                    digest = hashlib.sha256(body).hexdigest()
                    sig = _b64(self.signer.sign(body))
                    con.execute(
                        "INSERT INTO entries (seq, record_id, entry, hash, signature, key_id) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (index, rec["record_id"], body.decode("utf-8"), digest, sig, self.signer.key_id),
                    )
                    head = canonical_json(
                        {
                            "v": ENTRY_VERSION,
                            "type": "head",
                            "index": index,
                            "record_id": rec["record_id"],
                            "hash": digest,
                            "key_id": self.signer.key_id,
                        }
                    )
                    con.execute(
                        "INSERT OR REPLACE INTO head (id, entry, signature, key_id) VALUES (1, ?, ?, ?)",
                        (head.decode("utf-8"), _b64(self.signer.sign(head)), self.signer.key_id),
                    )
                    for sink in queue:
                        con.execute(
                            "INSERT INTO outbox (record_id, sink) VALUES (?, ?)", (rec["record_id"], sink)
                        )
                    con.execute("COMMIT")
                except BaseException:
                    _rollback(con)
                    raise
            except sqlite3.IntegrityError as exc:
                raise StorageError(
                    f"record {rec['record_id']} not logged: {exc}", code="audit_duplicate"
                ) from None
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL" or "full" in str(exc):
                    raise StorageError(
                        f"disk full: record {rec['record_id']} not logged ({exc}); "
                        f"free space in {self.path.parent}",
                        code="audit_disk_full",
                    ) from None
                raise StorageError(
                    f"record {rec['record_id']} not logged: {exc}", code="audit_write_failed"
                ) from None
            except sqlite3.DatabaseError as exc:
                raise StorageError(
                    f"record {rec['record_id']} not logged: {exc}", code="audit_corrupt"
                ) from None
        # Ids, position and digest only: the record body stays out of the logs.
        log.info("decision record %s logged at position %d (sha256 %s)", rec["record_id"], index, digest[:12])
        return StoredRecord(rec["record_id"], index, digest)

    def _register_key(self) -> None:
        raw = public_key_raw(self.signer.public_key)
        self._con.execute(
            "INSERT OR IGNORE INTO keys (key_id, public_key, first_seen) VALUES (?, ?, ?)",
            (self.signer.key_id, _b64(raw), utc_now_iso(self._wall())),
        )

    def _check_head(self) -> None:
        last = self._con.execute(
            "SELECT seq, record_id, hash FROM entries ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        head = self._con.execute("SELECT entry, signature, key_id FROM head WHERE id = 1").fetchone()
        if last is None and head is None:
            return
        problem = None
        if head is None:
            problem = "the signed head is missing"
        elif last is None:
            problem = "the log is empty but its signed head names a record"
        else:
            h = json.loads(head[0])
            if h.get("hash") != last[2] or h.get("record_id") != last[1]:
                problem = f"the signed head names record {h.get('record_id')}, the last entry is {last[1]}"
            elif head[2] == self.signer.key_id and not _sig_ok(self.signer.public_key, head[0], head[1]):
                problem = "the head signature is invalid"
        if problem:
            raise StorageError(
                f"audit log {self.path} was altered or damaged ({problem}); refusing to append. "
                f"Run `ekyc-kiosk audit verify` and keep the file for investigation.",
                code="audit_tampered",
            )

    # -- reading -----------------------------------------------------------------------------------------

    def count(self) -> int:
        with self._lock:
            return int(self._con.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def entries(self) -> list[Entry]:
        """Every entry in stored order."""
        with self._lock:
            return list(iter_entries(self._con))

    def get(self, record_id: str) -> Entry | None:
        with self._lock:
            row = self._con.execute(
                "SELECT seq, record_id, entry, hash, signature, key_id FROM entries WHERE record_id = ?",
                (record_id,),
            ).fetchone()
        return Entry(*row) if row else None

    def verify(self) -> VerifyReport:
        """Full verification with this device's key (trusted)."""
        with self._lock:
            return verify_connection(
                self._con, {self.signer.key_id: self.signer.public_key}, keys_trusted=True
            )

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rollback(con: sqlite3.Connection) -> None:
    # SQLite may already have rolled back by itself (e.g. on SQLITE_FULL); never mask the first error.
    if con.in_transaction:
        try:
            con.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.error("rollback after a failed append also failed: %s", exc)


def iter_entries(con: sqlite3.Connection) -> Iterator[Entry]:
    cur = con.execute("SELECT seq, record_id, entry, hash, signature, key_id FROM entries ORDER BY seq")
    for row in cur:
        yield Entry(int(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), str(row[5]))


def stored_keys(con: sqlite3.Connection) -> dict[str, Any]:
    """Public keys recorded inside the log (an attacker with write access could add one: not trusted)."""
    out: dict[str, Any] = {}
    for kid, raw in con.execute("SELECT key_id, public_key FROM keys"):
        try:
            pub = public_key_from_raw(_unb64(str(raw)))
        except (ValueError, TypeError):
            continue
        if key_id_of(pub) == kid:
            out[str(kid)] = pub
    return out


def _sig_ok(public_key: Any, text: str, sig_b64: str) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(_unb64(sig_b64), text.encode("utf-8"))
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


@dataclasses.dataclass
class _Checked:
    row: Entry
    pos: int  # 0-based stored order
    env: dict[str, Any] | None
    authentic: bool
    reason: str

    @property
    def index(self) -> int | None:
        if self.env is None:
            return None
        i = self.env.get("index")
        return i if isinstance(i, int) and not isinstance(i, bool) else None


def _check_row(e: Entry, pos: int, keys: Mapping[str, Any]) -> _Checked:
    try:
        env = json.loads(e.entry)
        if not isinstance(env, dict):
            raise ValueError("not an object")
    except ValueError:
        return _Checked(e, pos, None, False, "entry is not valid JSON")
    body = e.entry.encode("utf-8")
    if hashlib.sha256(body).hexdigest() != e.hash:
        return _Checked(e, pos, env, False, "content does not match its stored hash")
    key = keys.get(e.key_id)
    if key is None:
        return _Checked(e, pos, env, False, f"signed by unknown key {e.key_id}")
    if not _sig_ok(key, e.entry, e.signature):
        return _Checked(e, pos, env, False, "signature does not verify (content or hash rewritten)")
    if canonical_json(env) != body:
        return _Checked(e, pos, env, False, "entry is not in canonical form")
    if env.get("record_id") != e.record_id or env.get("key_id") != e.key_id:
        return _Checked(e, pos, env, False, "record_id/key_id columns differ from the signed entry")
    if not isinstance(env.get("record"), dict) or env["record"].get("record_id") != e.record_id:
        return _Checked(e, pos, env, False, "signed record body names another record id")
    return _Checked(e, pos, env, True, "")


def verify_connection(con: sqlite3.Connection, keys: Mapping[str, Any], keys_trusted: bool) -> VerifyReport:
    """Verify every entry and the head against ``keys`` (key_id -> Ed25519 public key)."""
    rows = [_check_row(e, i, keys) for i, e in enumerate(iter_entries(con))]
    issues: list[Issue] = []
    good = [c for c in rows if c.authentic and c.index is not None]
    by_index: dict[int, _Checked] = {}
    for c in good:
        assert c.index is not None
        if c.index in by_index:
            issues.append(
                Issue(
                    "inserted",
                    c.index,
                    c.row.record_id,
                    f"a second validly signed entry claims position {c.index} (replayed copy?)",
                    c.row.seq,
                )
            )
        else:
            by_index[c.index] = c

    head_index, head_rid, head_hash = _read_head(con, keys, issues)
    max_good = max(by_index, default=0)
    top = max(max_good, head_index or 0)

    # The true successor of each position tells who its predecessor was (id and hash), even if deleted.
    successor_says: dict[int, tuple[str | None, str]] = {}
    for idx, c in by_index.items():
        assert c.env is not None
        successor_says[idx - 1] = (c.env.get("prev_record_id"), str(c.env.get("prev_hash")))

    # Tampered rows: edited in place when they sit in a free position, otherwise inserted.
    claimed: set[int] = set()
    for c in rows:
        if c.authentic:
            continue
        idx = c.index if c.index is not None else c.row.seq
        free = 1 <= idx <= top and idx not in by_index and idx not in claimed
        if free:
            claimed.add(idx)
            true_id = successor_says.get(idx, (None, ""))[0] or c.row.record_id
            issues.append(Issue("edited", idx, true_id, c.reason, c.row.seq))
        else:
            issues.append(
                Issue(
                    "inserted",
                    c.index,
                    c.row.record_id,
                    f"{c.reason}; the signed chain has no place for it",
                    c.row.seq,
                )
            )

    # Gaps in the signed indices: deleted entries (unless an edited row still occupies the slot).
    for idx in range(1, top + 1):
        if idx in by_index or idx in claimed:
            continue
        missing_id = head_rid if idx == head_index and head_rid else successor_says.get(idx, (None, ""))[0]
        kind = "truncated" if idx > max_good else "deleted"
        msg = "entry missing from the log" + (
            " (after the last stored entry; the signed head names it)" if kind == "truncated" else ""
        )
        issues.append(Issue(kind, idx, missing_id, msg))

    # Links between consecutive authentic entries.
    for idx, c in sorted(by_index.items()):
        assert c.env is not None
        prev = by_index.get(idx - 1)
        expected = GENESIS_HASH if idx == 1 else (prev.row.hash if prev else None)
        if expected is not None and c.env.get("prev_hash") != expected:
            issues.append(
                Issue(
                    "chain",
                    idx,
                    c.row.record_id,
                    "its prev_hash does not match the entry before it (forked log?)",
                    c.row.seq,
                )
            )
    if head_hash is not None and head_index in by_index and by_index[head_index].row.hash != head_hash:
        issues.append(Issue("head", head_index, head_rid, "the signed head's hash differs from that entry"))

    # Stored order: an authentic entry stored after one that was signed later has been moved.
    highest: _Checked | None = None
    for c in rows:
        if not c.authentic or c.index is None or by_index.get(c.index) is not c:
            continue
        if highest is not None and highest.index is not None and c.index < highest.index:
            issues.append(
                Issue(
                    "reordered",
                    c.index,
                    c.row.record_id,
                    f"stored at position {c.row.seq}, after record {highest.row.record_id} "
                    f"(position {highest.index}) that was signed after it",
                    c.row.seq,
                )
            )
        elif highest is None or (highest.index is not None and c.index > highest.index):
            highest = c

    issues.sort(key=lambda i: (i.position if i.position is not None else 1 << 60, i.kind))
    return VerifyReport(not issues, len(rows), head_index, issues, keys_trusted, sorted(keys))


def _read_head(
    con: sqlite3.Connection, keys: Mapping[str, Any], issues: list[Issue]
) -> tuple[int | None, str | None, str | None]:
    row = con.execute("SELECT entry, signature, key_id FROM head WHERE id = 1").fetchone()
    n = int(con.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
    if row is None:
        if n:
            issues.append(Issue("head", None, None, "the signed head record is missing"))
        return None, None, None
    text, sig, kid = str(row[0]), str(row[1]), str(row[2])
    key = keys.get(kid)
    try:
        h = json.loads(text)
    except ValueError:
        issues.append(Issue("head", None, None, "the signed head is not valid JSON"))
        return None, None, None
    if key is None or not _sig_ok(key, text, sig):
        issues.append(
            Issue(
                "head",
                h.get("index"),
                h.get("record_id"),
                "the head signature does not verify (head rewritten)",
            )
        )
        return None, None, None
    idx = h.get("index")
    return (idx if isinstance(idx, int) else None), h.get("record_id"), h.get("hash")


def verify_db(path: str | Path, public_keys: Sequence[Any] | None = None) -> VerifyReport:
    """Verify the log file at ``path``.

    ``public_keys``: the device's Ed25519 public key(s), e.g. from ``signing.key.pub`` or an enrolment
    record. When None, the keys stored inside the log are used and the report says
    ``keys_trusted=False`` (good against accidents, not against someone who can rewrite the file).
    """
    try:
        con = connect(path, create=False)
    except KioskError:
        raise
    try:
        if public_keys:
            keys = {key_id_of(k): k for k in public_keys}
            return verify_connection(con, keys, keys_trusted=True)
        return verify_connection(con, stored_keys(con), keys_trusted=False)
    finally:
        con.close()
