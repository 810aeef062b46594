"""Decision records: the dataclass the app fills, canonical JSON, and the no-biometrics guard.

A decision record says what the kiosk decided and why, with enough context to audit it later
(thresholds, model and config digests, timings), and nothing that could rebuild a face: no images, no
embeddings/templates, no landmark arrays. :func:`check_no_biometrics` enforces that on every append.

Canonical JSON (:func:`canonical_json`): UTF-8, keys sorted, no whitespace, no NaN/Infinity, floats in
Python's shortest round-trip repr. Hashes and signatures are computed over these exact bytes, and the
outbox ships the same bytes, so the bank can verify a record without re-serialising it.

Example (the app builds this when a session ends, before the result screen shows)::

    rec = DecisionRecord(
        session_id=sid, decision=Decision.APPROVED, reasons=[], kiosk_id=cfg.records.kiosk_id,
        document={"portrait_found": True, "quality": 0.81},
        match={"score": 0.41, "threshold": 0.52, "fmr_target": 1e-4, "metric": "euclidean"},
        liveness={"passed": True, "challenges": ["blink", "turn_left"]},
        timings={"total_s": 21.4, "match_ms": 35.0},
        model_sha256=model_sha256s([...]), config_sha256=config_sha256(cfg),
    )
    stored = audit_log.append(rec.to_dict())      # durable before returning
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from kiosk.errors import InputError
from kiosk.flow.states import (
    Decision,
)  # the engine's outcomes (approved / rejected / aborted): one vocabulary

RECORD_SCHEMA = 1

# Keys that must never appear anywhere in a record (case-insensitive, also as a suffix like face_image).
FORBIDDEN_KEYS = (
    "image",
    "images",
    "img",
    "jpeg",
    "png",
    "frame",
    "frames",
    "pixels",
    "crop",
    "chip",
    "selfie",
    "embedding",
    "embeddings",
    "template",
    "templates",
    "descriptor",
    "descriptors",
    "feature_vector",
    "landmarks",
    "mesh",
    "blendshapes",
    "portrait_image",
)
MAX_NUMERIC_LIST = 16  # longer numeric lists look like vectors (an embedding is 128 floats)
MAX_STRING_CHARS = 2000  # a longer string could smuggle an encoded image


def canonical_json(obj: Any) -> bytes:
    """Deterministic UTF-8 JSON bytes (sorted keys, compact, finite numbers only)."""
    try:
        return json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except ValueError as exc:
        raise InputError(f"record is not canonical JSON: {exc} (NaN/Infinity are not allowed)") from None
    except TypeError as exc:
        raise InputError(f"record holds a value JSON cannot carry: {exc}") from None


def utc_now_iso(wall: float | None = None) -> str:
    """Wall-clock time as ISO 8601 UTC with milliseconds, e.g. ``2025-03-01T10:22:33.123+00:00``."""
    t = (
        _dt.datetime.now(_dt.timezone.utc)
        if wall is None
        else _dt.datetime.fromtimestamp(wall, _dt.timezone.utc)
    )
    return t.isoformat(timespec="milliseconds")


def new_record_id() -> str:
    """A random 128-bit id (uuid4 hex, from os.urandom): unique across kiosks, no timing leak."""
    return uuid.uuid4().hex


@dataclass
class DecisionRecord:
    """What one session decided. All fields JSON-safe; units in key names (``_s``, ``_ms``).

    ``match``: ``score``, ``threshold``, ``fmr_target`` (+ metric); ``liveness``: per-challenge results and
    scores; ``timings``: durations in seconds/ms; ``model_sha256``: manifest name -> sha256;
    ``reasons``: stable reason codes (e.g. ``face_mismatch``, ``liveness_timeout``).
    """

    session_id: str
    decision: Decision | str  # kiosk.flow.states.Decision
    kiosk_id: str
    reasons: list[str] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)
    match: dict[str, Any] = field(default_factory=dict)
    liveness: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    model_sha256: dict[str, str] = field(default_factory=dict)
    config_sha256: str = ""
    created_at: str = field(default_factory=utc_now_iso)
    record_id: str = field(default_factory=new_record_id)
    app_version: str = ""
    schema: int = RECORD_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["decision"] = self.decision.value if isinstance(self.decision, enum.Enum) else str(self.decision)
        if not d["app_version"]:
            from kiosk import __version__

            d["app_version"] = __version__
        return d


def check_no_biometrics(record: Mapping[str, Any]) -> None:
    """Raise :class:`InputError` naming the key path if the record could carry biometric data.

    Refused: bytes-like values, arrays (anything with ``shape``/``dtype``), numeric lists longer than
    16, strings longer than 2000 characters, and keys such as ``image``/``embedding``/``landmarks``.
    """

    def walk(v: Any, path: str) -> None:
        if isinstance(v, (bytes, bytearray, memoryview)):
            raise InputError(f"record field {path} holds raw bytes; records carry no images or templates")
        if hasattr(v, "shape") and hasattr(v, "dtype"):
            raise InputError(f"record field {path} holds an array; records carry no images or templates")
        if isinstance(v, Mapping):
            for k, sub in v.items():
                key = str(k).lower()
                if any(key == f or key.endswith("_" + f) for f in FORBIDDEN_KEYS):
                    raise InputError(f"record key {path}.{k} is not allowed: records carry no biometric data")
                walk(sub, f"{path}.{k}")
        elif isinstance(v, (list, tuple)):
            numeric = sum(1 for x in v if isinstance(x, (int, float)) and not isinstance(x, bool))
            if numeric > MAX_NUMERIC_LIST:
                raise InputError(
                    f"record field {path} is a list of {numeric} numbers; vectors (embeddings, "
                    "landmarks) are not allowed in records"
                )
            for i, sub in enumerate(v):
                walk(sub, f"{path}[{i}]")
        elif isinstance(v, str) and len(v) > MAX_STRING_CHARS:
            raise InputError(
                f"record field {path} is a {len(v)}-character string; at most {MAX_STRING_CHARS}"
            )
        elif isinstance(v, float) and not math.isfinite(v):
            raise InputError(f"record field {path} is {v}; use null for a missing number")

    walk(record, "record")


def validate_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """Checks a record dict before it is logged; returns a plain-dict copy with a ``record_id``.

    Needs ``session_id``, ``decision`` (a :class:`kiosk.flow.states.Decision` value) and ``kiosk_id``;
    ``record_id`` is added when absent (must be 8-64 characters of ``[A-Za-z0-9_-]`` when given).
    """
    if not isinstance(record, Mapping):
        raise InputError(f"a decision record must be a mapping, got {type(record).__name__}")
    rec = json.loads(canonical_json(dict(record)))  # deep plain copy; also proves it is JSON-safe
    check_no_biometrics(rec)
    for key in ("session_id", "decision", "kiosk_id"):
        if not isinstance(rec.get(key), str) or not rec[key]:
            raise InputError(f"decision record needs a non-empty string {key!r}")
    try:
        Decision(rec["decision"])
    except ValueError:
        allowed = ", ".join(d.value for d in Decision)
        raise InputError(f"decision {rec['decision']!r} is not one of: {allowed}") from None
    rid = rec.setdefault("record_id", new_record_id())
    if not isinstance(rid, str) or not 8 <= len(rid) <= 64 or not all(c.isalnum() or c in "-_" for c in rid):
        raise InputError(f"record_id {rid!r} must be 8-64 characters of letters, digits, - or _")
    return rec
