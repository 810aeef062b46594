"""Optional encrypted evidence store (AES-256-GCM) with a time-to-live. Off by default.

It exists only when the config says ``records.retention: evidence`` and ``records.evidence.enabled:
true`` (:meth:`EvidenceStore.from_config` returns None otherwise, so nothing is ever written by default).

Layout: ``<data_dir>/evidence/<session_id>/<name>.ev``, one file per item, mode 0600 in 0700 folders::

    b"EKYCEV1\\n" | u32 header length | header JSON | 12-byte nonce | AES-GCM(ciphertext + tag)

The header (session id, item name, content type, created/expiry epoch seconds) is in clear so
:meth:`purge` can delete expired items without the key, and it is bound to the ciphertext as AES-GCM
associated data, so editing it (e.g. extending the expiry) makes the item undecryptable. :meth:`get`
refuses an expired item even before purge ran.

The 32-byte key (``records.evidence.key_file``, relative to ``data_dir``, 0600) is made on first use.
It sits on the same disk: encryption protects copies of the evidence folder (backups, a pulled SD card
without the key file) and makes deletion reliable on flash (:meth:`destroy` removes the key: everything
left becomes unreadable), but not a live device whose service account is compromised.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.errors import StorageError

log = logging.getLogger(__name__)

MAGIC = b"EKYCEV1\n"
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class EvidenceItem:
    path: Path
    session_id: str
    name: str
    content_type: str
    created_s: float
    expires_s: float


class EvidenceStore:
    """``directory``: where items go. ``key_file``: AES key path. ``ttl_h``: hours an item lives.
    ``wall``: wall clock (epoch s) for creation/expiry (TTL outlives reboots, so not monotonic).
    """

    def __init__(
        self, directory: str | Path, key_file: str | Path, ttl_h: float, wall: Callable[[], float] = time.time
    ) -> None:
        if ttl_h <= 0:
            raise ValueError("ttl_h must be positive")
        self.directory = Path(directory)
        self.key_file = Path(key_file)
        self.ttl_s = float(ttl_h) * 3600.0
        self._wall = wall
        self._aead: Any = None

    @classmethod
    def from_config(
        cls, records_cfg: Any, data_dir: Path, wall: Callable[[], float] = time.time
    ) -> EvidenceStore | None:
        """The store when the config turns it on, else None (the default: nothing outlives a session)."""
        if records_cfg.retention != "evidence" or not records_cfg.evidence.enabled:
            return None
        ev = records_cfg.evidence
        return cls(data_dir / "evidence", data_dir / ev.key_file, ev.ttl_h, wall=wall)

    # -- key ---------------------------------------------------------------------------------------------

    def _cipher(self) -> Any:
        if self._aead is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._aead = AESGCM(self._load_or_create_key())
        return self._aead

    def _load_or_create_key(self) -> bytes:
        p = self.key_file
        try:
            key = p.read_bytes()
        except FileNotFoundError:
            p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            key = os.urandom(32)
            try:
                fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            except FileExistsError:
                return self._load_or_create_key()
            try:
                os.write(fd, key)
                os.fsync(fd)
            finally:
                os.close(fd)
            log.info("created evidence key %s", p)
            return key
        except OSError as exc:
            raise StorageError(f"cannot read evidence key {p}: {exc.strerror}") from None
        if len(key) != 32:
            raise StorageError(f"evidence key {p} must be 32 bytes, has {len(key)}")
        if p.stat().st_mode & 0o077:
            raise StorageError(f"evidence key {p} is readable by other users; chmod 600 {p}")
        return key

    # -- items -------------------------------------------------------------------------------------------

    def put(
        self, session_id: str, name: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> Path:
        """Encrypt and store ``data`` (e.g. JPEG bytes encoded in memory); returns the file path."""
        for label, v in (("session_id", session_id), ("name", name)):
            if not _NAME_RE.match(v):
                raise StorageError(
                    f"evidence {label} {v!r} must be 1-64 characters of letters, digits, - or _"
                )
        now = self._wall()
        header = json.dumps(
            {
                "v": 1,
                "session_id": session_id,
                "name": name,
                "content_type": content_type,
                "created_s": round(now, 3),
                "expires_s": round(now + self.ttl_s, 3),
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode("utf-8")
        nonce = os.urandom(12)
        blob = self._cipher().encrypt(nonce, bytes(data), header)
        folder = self.directory / session_id
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"{name}.ev"
        tmp = folder / f".{name}.ev.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, MAGIC + struct.pack(">I", len(header)) + header + nonce + blob)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        log.info(
            "evidence item %s/%s stored encrypted (expires in %.0f h)", session_id, name, self.ttl_s / 3600
        )
        return path

    @staticmethod
    def _read(path: Path) -> tuple[dict[str, Any], bytes, bytes, bytes]:
        raw = path.read_bytes()
        if not raw.startswith(MAGIC) or len(raw) < len(MAGIC) + 4:
            raise StorageError(f"{path} is not an evidence file")
        (n,) = struct.unpack(">I", raw[len(MAGIC) : len(MAGIC) + 4])
        start = len(MAGIC) + 4
        header = raw[start : start + n]
        nonce = raw[start + n : start + n + 12]
        blob = raw[start + n + 12 :]
        try:
            meta = json.loads(header)
        except ValueError:
            raise StorageError(f"{path} has a damaged header") from None
        return meta, header, nonce, blob

    def get(self, path: str | Path) -> bytes:
        """Decrypt an item; :class:`StorageError` when expired, tampered with or unreadable."""
        from cryptography.exceptions import InvalidTag

        p = Path(path)
        try:
            meta, header, nonce, blob = self._read(p)
        except OSError as exc:
            raise StorageError(f"cannot read evidence {p}: {exc.strerror}") from None
        if float(meta.get("expires_s", 0)) <= self._wall():
            raise StorageError(f"evidence {p} has expired", code="evidence_expired")
        try:
            return bytes(self._cipher().decrypt(nonce, blob, header))
        except InvalidTag:
            raise StorageError(f"evidence {p} failed authentication (edited, or another key)") from None

    def items(self) -> Iterator[EvidenceItem]:
        if not self.directory.is_dir():
            return
        for p in sorted(self.directory.glob("*/*.ev")):
            try:
                meta, *_ = self._read(p)
            except (OSError, StorageError):
                continue
            yield EvidenceItem(
                p,
                str(meta.get("session_id")),
                str(meta.get("name")),
                str(meta.get("content_type")),
                float(meta.get("created_s", 0)),
                float(meta.get("expires_s", 0)),
            )

    def purge(self, now: float | None = None) -> int:
        """Delete expired items (and unreadable or stray files); returns how many files were removed."""
        t = self._wall() if now is None else now
        removed = 0
        if not self.directory.is_dir():
            return 0
        for p in sorted(self.directory.glob("*/*")):
            if not p.is_file():
                continue
            try:
                meta, *_ = self._read(p)
                expired = float(meta.get("expires_s", 0)) <= t
            except (OSError, StorageError, ValueError, TypeError):
                expired = True  # half-written or foreign files do not get to stay
            if expired:
                try:
                    p.unlink()
                    removed += 1
                except OSError as exc:
                    log.error("could not delete expired evidence %s: %s", p, exc)
        for d in self.directory.iterdir():
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()
        if removed:
            log.info("purged %d expired evidence file(s)", removed)
        return removed

    def destroy(self) -> None:
        """Delete every item and the key (crypto-shredding: copies left on flash become unreadable)."""
        if self.directory.exists():
            shutil.rmtree(self.directory)
        with contextlib.suppress(FileNotFoundError):
            self.key_file.unlink()
        self._aead = None
        log.info("evidence store destroyed (items and key deleted)")
