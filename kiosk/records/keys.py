"""Per-device Ed25519 signing key: create once at install, load at start. Uses ``cryptography``.

Files (paths from config: ``records.signing_key_file`` relative to ``records.data_dir``):

* ``signing.key`` — PKCS#8 PEM private key, mode 0600, owned by the service user. Created with
  ``O_EXCL`` so an existing key is never overwritten (overwriting would orphan every signature made so
  far). Loading refuses a key file that group or others can read, as ssh does.
* ``signing.key.pub`` — the public key (SubjectPublicKeyInfo PEM, 0644). Enrol this at the bank; an
  auditor verifies with it (``ekyc-kiosk audit verify --public-key``).

``key_id`` is the first 16 hex digits of sha256(raw 32-byte public key); every log entry names the key
that signed it, so a future rotation can keep old entries verifiable.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.errors import StorageError

log = logging.getLogger(__name__)


def public_key_raw(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(
        public_key.public_bytes(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)
    )


def key_id_of(public_key: Any) -> str:
    return hashlib.sha256(public_key_raw(public_key)).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKey:
    """A loaded private key. ``sign(data)`` returns the 64-byte Ed25519 signature."""

    private_key: Any  # cryptography Ed25519PrivateKey
    path: Path

    @property
    def public_key(self) -> Any:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return bytes(self.private_key.sign(data))

    def public_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return bytes(
            self.public_key.public_bytes(
                encoding=serialization.Encoding.PEM, format=serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


def public_path_for(private_path: Path) -> Path:
    return private_path.with_name(private_path.name + ".pub")


def generate_key(path: str | Path) -> SigningKey:
    """Create a new key at ``path`` (0600) and its ``.pub`` beside it; refuse if ``path`` exists.

    The parent directory is created 0700 if missing. The file is fsynced, then the directory.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    p = Path(path)
    if p.exists() or p.is_symlink():
        raise StorageError(
            f"signing key {p} already exists; refusing to overwrite it (records signed with it would no "
            "longer verify). Move it away deliberately if you really mean to replace this device's key.",
            code="key_exists",
        )
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise StorageError(
            f"signing key {p} already exists; refusing to overwrite it", code="key_exists"
        ) from None
    except OSError as exc:
        raise StorageError(f"cannot create signing key {p}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)  # whatever the umask said
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    sk = SigningKey(key, p)
    pub = public_path_for(p)
    tmp = pub.with_name(pub.name + ".tmp")
    tmp.write_bytes(sk.public_pem())
    os.chmod(tmp, 0o644)
    os.replace(tmp, pub)
    _fsync_dir(p.parent)
    log.info("created signing key %s (key id %s)", p, sk.key_id)
    return sk


def load_key(path: str | Path) -> SigningKey:
    """Load the private key; :class:`StorageError` with a fix when missing, unreadable or too open."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise StorageError(
            f"signing key {p} is missing; create it once with `ekyc-kiosk audit keygen --config ...`",
            code="key_missing",
        ) from None
    except OSError as exc:
        raise StorageError(f"cannot stat signing key {p}: {exc.strerror}", code="key_unreadable") from None
    if not stat.S_ISREG(st.st_mode):
        raise StorageError(f"signing key {p} is not a regular file", code="key_unreadable")
    if st.st_mode & 0o077:
        raise StorageError(
            f"signing key {p} is readable by other users (mode {st.st_mode & 0o777:o}); chmod 600 {p}",
            code="key_permissions",
        )
    try:
        key = serialization.load_pem_private_key(p.read_bytes(), password=None)
    except OSError as exc:
        raise StorageError(f"cannot read signing key {p}: {exc.strerror}", code="key_unreadable") from None
    except (ValueError, TypeError) as exc:
        raise StorageError(
            f"signing key {p} is not a PEM private key: {exc}", code="key_unreadable"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise StorageError(f"signing key {p} is not an Ed25519 key", code="key_unreadable")
    return SigningKey(key, p)


def load_public_key(path: str | Path) -> Any:
    """An Ed25519 public key from a PEM file (``.pub``) or a private key PEM (its public half)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise StorageError(f"cannot read public key {p}: {exc.strerror}", code="key_unreadable") from None
    try:
        if b"PRIVATE KEY" in data:
            priv = serialization.load_pem_private_key(data, password=None)
            if not isinstance(priv, Ed25519PrivateKey):
                raise ValueError("not Ed25519")
            return priv.public_key()
        pub = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise StorageError(f"{p} is not an Ed25519 PEM key: {exc}", code="key_unreadable") from None
    if not isinstance(pub, Ed25519PublicKey):
        raise StorageError(f"{p} is not an Ed25519 public key", code="key_unreadable")
    return pub


def public_key_from_raw(raw: bytes) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(raw)


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
