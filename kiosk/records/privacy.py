"""Find biometric data left on disk: image files, numpy arrays, and given embedding bytes.

Used by the privacy tests (and usable by an auditor on a device): after a session with default
retention, :func:`scan_for_biometrics` over the data directory and the temp directory must find nothing.

It flags
* image files by content (JPEG, PNG, GIF, BMP, WebP, TIFF magic bytes) whatever their name,
* numpy ``.npy``/``.npz`` files (by magic bytes and by extension) and pickles of numpy arrays,
* any file containing one of the ``needles`` (see :func:`embedding_needles`: the raw float32/float64
  bytes of an embedding and its printed numbers), including inside SQLite files and their WAL.

Encrypted evidence files (``*.ev``) are reported separately as ``evidence`` and only when asked.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_MAGIC: dict[str, tuple[bytes, ...]] = {
    "jpeg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "gif": (b"GIF87a", b"GIF89a"),
    "bmp": (b"BM",),
    "tiff": (b"II*\x00", b"MM\x00*"),
}
IMAGE_EXT = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
ARRAY_EXT = {".npy", ".npz"}
MAX_SCAN_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    path: Path
    kind: str  # image | array | embedding | evidence
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.path} ({self.detail})"


def embedding_needles(vec: np.ndarray) -> list[bytes]:
    """Byte patterns that betray ``vec`` on disk: its float32 and float64 bytes (whole and a 4-value
    window), and its first values printed as text the way json/repr/%.6f would."""
    v = np.asarray(vec, dtype=np.float64).ravel()
    if v.size < 4:
        raise ValueError("an embedding needs at least 4 values to search for")
    needles: list[bytes] = []
    for dt in (np.float32, np.float64):
        raw = v.astype(dt).tobytes()
        needles.append(raw)
        mid = (v.size // 2) * np.dtype(dt).itemsize
        needles.append(raw[mid : mid + 4 * np.dtype(dt).itemsize])
    head = v[:4]
    needles.append(", ".join(repr(float(x)) for x in head).encode())
    needles.append(",".join(repr(float(x)) for x in head).encode())
    needles.append(", ".join(repr(float(np.float32(x))) for x in head).encode())
    needles.append(" ".join(f"{x:.6f}" for x in head).encode())
    needles.append(",".join(f"{x:.4f}" for x in head).encode())
    return needles


def _kind_of(head: bytes) -> str | None:
    for kind, magics in IMAGE_MAGIC.items():
        if any(head.startswith(m) for m in magics):
            if kind == "bmp" and len(head) < 14:
                return None
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def _walk(roots: Iterable[Path]) -> Iterable[Path]:
    for root in roots:
        if root.is_file():
            yield root
            continue
        if not root.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(root, onerror=lambda e: None):
            for f in files:
                p = Path(dirpath) / f
                if p.is_file() and not p.is_symlink():
                    yield p


def scan_for_biometrics(
    roots: Sequence[str | Path],
    needles: Sequence[bytes] = (),
    include_evidence: bool = False,
    newer_than: float | None = None,
) -> list[Finding]:
    """Every suspicious file under ``roots`` (unreadable files are skipped; files over 64 MiB are
    checked by their first bytes only). ``newer_than``: only files modified at/after this epoch time."""
    findings: list[Finding] = []
    for p in _walk(Path(r) for r in roots):
        try:
            st = p.stat()
            if newer_than is not None and st.st_mtime < newer_than:
                continue
            size = st.st_size
            with open(p, "rb") as f:
                data = f.read(MAX_SCAN_BYTES if size <= MAX_SCAN_BYTES else 64)
        except OSError:
            continue
        ext = p.suffix.lower()
        if ext == ".ev" and data.startswith(b"EKYCEV1\n"):
            if include_evidence:
                findings.append(Finding(p, "evidence", "encrypted evidence item"))
            continue
        kind = _kind_of(data[:16])
        if kind and not (kind == "bmp" and ext not in IMAGE_EXT):
            findings.append(Finding(p, "image", f"{kind} data"))
            continue
        if ext in IMAGE_EXT:
            findings.append(Finding(p, "image", f"image file name ({ext})"))
            continue
        if data.startswith(b"\x93NUMPY") or ext in ARRAY_EXT:
            findings.append(Finding(p, "array", "numpy array file"))
            continue
        if data[:2] == b"\x80\x04" and b"numpy" in data[:4096]:
            findings.append(Finding(p, "array", "pickled numpy data"))
            continue
        for i, n in enumerate(needles):
            if n and n in data:
                findings.append(Finding(p, "embedding", f"contains embedding pattern #{i}"))
                break
    return findings
