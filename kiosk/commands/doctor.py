"""``ekyc-kiosk doctor [--config PATH] [--json] [--skip NAMES]``: is this device fit to run sessions?

Checks, in order: config (valid), models (sha256 of every manifest entry), data_dir (exists, writable),
disk (free >= records.min_free_mb), signing_key (present, 0600, loads), audit_log (chain and signatures
verify), outbox (nothing stuck), evidence (off, or no expired items), clock (year >= 2024, NTP),
display (SDL can initialise its video driver), camera (the configured source opens and gives a frame).

Each line says ok / warn / FAIL / unavailable / skipped and, when not ok, what to do. Exit 0 when
nothing failed or was unavailable (warnings allowed), 1 otherwise. ``--skip camera,display`` for
headless CI. ``--json`` prints ``{"ok": bool, "checks": [...]}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

CHECKS = (
    "config",
    "models",
    "data_dir",
    "disk",
    "signing_key",
    "audit_log",
    "outbox",
    "evidence",
    "clock",
    "display",
    "camera",
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("doctor", help="check camera, display, models, config, disk, clock, key and audit log")
    p.add_argument("--config", default=None, help="kiosk config YAML (default: config/default.yaml)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--skip", default="", help=f"comma-separated checks to skip ({', '.join(CHECKS)})")
    p.add_argument("--camera-timeout", type=float, default=5.0, help="seconds to wait for a first frame")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.platform.probes import Probe, Status

    skip = {s.strip() for s in str(args.skip).split(",") if s.strip()}
    unknown = skip - set(CHECKS)
    if unknown:
        print(f"ekyc-kiosk doctor: unknown check(s) in --skip: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    cfg, cfg_probe = _config(args.config)
    results: list[Probe] = []
    checks: dict[str, Callable[[], Probe]] = {
        "config": lambda: cfg_probe,
        "models": _models,
        "data_dir": lambda: _with_cfg(cfg, "data_dir", _data_dir),
        "disk": lambda: _with_cfg(cfg, "disk", _disk),
        "signing_key": lambda: _with_cfg(cfg, "signing_key", _signing_key),
        "audit_log": lambda: _with_cfg(cfg, "audit_log", _audit_log),
        "outbox": lambda: _with_cfg(cfg, "outbox", _outbox),
        "evidence": lambda: _with_cfg(cfg, "evidence", _evidence),
        "clock": _clock,
        "display": _display,
        "camera": lambda: _with_cfg(cfg, "camera", lambda c: _camera(c, args.camera_timeout)),
    }
    for name in CHECKS:
        if name in skip:
            results.append(Probe(name, Status.SKIPPED, "skipped (--skip)"))
            continue
        try:
            results.append(checks[name]())
        except Exception as exc:  # a probe bug is reported as that check failing, never a traceback
            results.append(Probe(name, Status.FAIL, f"check crashed: {type(exc).__name__}: {exc}", ""))
        if not args.json:
            _print_line(results[-1])
    ok = all(r.ok for r in results)
    if args.json:
        print(json.dumps({"ok": ok, "checks": [r.as_dict() for r in results]}, indent=2))
    else:
        bad = [r for r in results if not r.ok]
        print(
            "all checks passed"
            if ok
            else f"{len(bad)} check(s) need attention: {', '.join(r.name for r in bad)}"
        )
    return 0 if ok else 1


def _print_line(r: Any) -> None:
    label = {"ok": "ok", "warn": "warn", "fail": "FAIL", "unavailable": "n/a", "skipped": "skip"}[
        r.status.value
    ]
    print(f"{label:<5} {r.name:<12} {r.detail}")
    if r.fix and r.status.value != "ok":
        print(f"{'':<5} {'':<12} fix: {r.fix}")


def _config(path: str | None) -> tuple[Any, Any]:
    from kiosk.config import ConfigValidationError, config_sha256
    from kiosk.platform.probes import Probe, Status
    from kiosk.records.runtime import load_config_arg

    try:
        cfg, src = load_config_arg(path)
    except ConfigValidationError as exc:
        first = "; ".join(str(i) for i in exc.issues[:3])
        return None, Probe(
            "config",
            Status.FAIL,
            f"{exc.source} is invalid: {first}",
            f"fix the listed keys (ekyc-kiosk validate-config {exc.source})",
        )
    return cfg, Probe("config", Status.OK, f"{src} valid (sha256 {config_sha256(cfg)[:12]})")


def _with_cfg(cfg: Any, name: str, fn: Callable[[Any], Any]) -> Any:
    from kiosk.platform.probes import Probe, Status

    if cfg is None:
        return Probe(name, Status.FAIL, "not checked: the config is invalid", "fix the config first")
    return fn(cfg)


def _models() -> Any:
    from kiosk.errors import ModelError
    from kiosk.models import load_manifest, verified_model_path
    from kiosk.paths import models_dir
    from kiosk.platform.probes import Probe, Status

    d = models_dir()
    try:
        names = sorted(load_manifest(d)["models"])
    except ModelError as exc:
        return Probe("models", Status.FAIL, exc.message, "reinstall the models directory")
    if not names:
        return Probe("models", Status.FAIL, f"the manifest in {d} lists no models", "reinstall the models")
    bad = []
    for n in names:
        try:
            verified_model_path(n, d)
        except ModelError as exc:
            bad.append(exc.message)
    if bad:
        return Probe(
            "models",
            Status.FAIL,
            " | ".join(bad),
            f"restore the model files from the release (or set EKYC_MODELS_DIR); the kiosk refuses "
            f"to start with a model that fails its sha256 ({d})",
        )
    return Probe("models", Status.OK, f"{len(names)} model(s) match the manifest sha256: {', '.join(names)}")


def _data_dir(cfg: Any) -> Any:
    from kiosk.platform.probes import data_dir_probe
    from kiosk.records.runtime import data_dir_of

    return data_dir_probe(data_dir_of(cfg.records))


def _disk(cfg: Any) -> Any:
    from kiosk.platform.probes import disk_probe
    from kiosk.records.runtime import data_dir_of

    return disk_probe(data_dir_of(cfg.records), cfg.records.min_free_mb)


def _signing_key(cfg: Any) -> Any:
    from kiosk.errors import KioskError
    from kiosk.platform.probes import Probe, Status
    from kiosk.records.keys import load_key, public_path_for
    from kiosk.records.runtime import signing_key_path

    p = signing_key_path(cfg.records)
    try:
        key = load_key(p)
    except KioskError as exc:
        fix = "ekyc-kiosk audit keygen --config <this config>  (as the service user)"
        if exc.code == "key_permissions":
            fix = f"chmod 600 {p}"
        return Probe("signing_key", Status.FAIL, exc.message, fix)
    if not public_path_for(p).is_file():
        return Probe(
            "signing_key",
            Status.WARN,
            f"{p} ok (key id {key.key_id}) but {public_path_for(p)} is missing",
            f"ekyc-kiosk audit pubkey > {public_path_for(p)}",
        )
    return Probe("signing_key", Status.OK, f"{p} (key id {key.key_id}, mode 0600)")


def _audit_log(cfg: Any) -> Any:
    from kiosk.errors import KioskError
    from kiosk.platform.probes import Probe, Status
    from kiosk.records.keys import load_key
    from kiosk.records.runtime import audit_db_path, signing_key_path
    from kiosk.records.store import verify_db

    db = audit_db_path(cfg.records)
    if not db.exists():
        return Probe("audit_log", Status.OK, f"{db} not created yet (no sessions so far)")
    try:
        key = load_key(signing_key_path(cfg.records))
    except KioskError:
        return Probe(
            "audit_log",
            Status.FAIL,
            f"{db} exists but cannot be verified without the signing key",
            "restore the signing key; never generate a new one over an existing log",
        )
    try:
        report = verify_db(db, [key.public_key])
    except KioskError as exc:
        return Probe(
            "audit_log", Status.FAIL, exc.message, "keep the file for investigation; see docs/appliance.md"
        )
    if report.ok:
        return Probe("audit_log", Status.OK, f"{db}: {report.entries} entries, chain and signatures intact")
    first = "; ".join(str(i) for i in report.issues[:3])
    return Probe(
        "audit_log",
        Status.FAIL,
        f"{db}: {len(report.issues)} problem(s): {first}",
        "the log was altered: keep the file, report it, run `ekyc-kiosk audit verify` for the full list",
    )


def _outbox(cfg: Any) -> Any:
    import sqlite3

    from kiosk.platform.probes import Probe, Status
    from kiosk.records.runtime import audit_db_path

    ob = cfg.records.outbox
    sinks = [n for n, c in (("mqtt", ob.mqtt), ("webhook", ob.webhook)) if c.enabled]
    db = audit_db_path(cfg.records)
    queued: list[tuple[str, int, int, str]] = []
    if db.exists():
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            try:
                queued = [
                    (str(s), int(n), int(a or 0), str(e or ""))
                    for s, n, a, e in con.execute(
                        "SELECT sink, COUNT(*), MAX(attempts), MAX(last_error) FROM outbox GROUP BY sink"
                    )
                ]
            finally:
                con.close()
        except sqlite3.Error as exc:
            return Probe("outbox", Status.FAIL, f"cannot read the outbox in {db}: {exc}", "")
    if not sinks and not queued:
        return Probe("outbox", Status.OK, "delivery off (no MQTT broker or webhook configured)")
    if not queued:
        return Probe("outbox", Status.OK, f"nothing waiting for {', '.join(sinks)}")
    parts = [
        f"{s}: {n} waiting (max {a} attempts{'; last error: ' + e if e else ''})" for s, n, a, e in queued
    ]
    stale = [s for s, _, _, _ in queued if s not in sinks]
    fix = "check the network path and credentials to the receiver; records are kept until acknowledged"
    if stale:
        fix += f"; sinks no longer configured hold records: {', '.join(stale)}"
    return Probe("outbox", Status.WARN, "; ".join(parts), fix)


def _evidence(cfg: Any) -> Any:
    from kiosk.platform.probes import Probe, Status
    from kiosk.records.evidence import EvidenceStore
    from kiosk.records.runtime import data_dir_of

    store = EvidenceStore.from_config(cfg.records, data_dir_of(cfg.records))
    if store is None:
        return Probe("evidence", Status.OK, "off: no face image or template outlives its session")
    import time

    items = list(store.items())
    expired = [i for i in items if i.expires_s <= time.time()]
    detail = f"on: {len(items)} encrypted item(s) in {store.directory}, TTL {store.ttl_s / 3600:g} h"
    if expired:
        return Probe(
            "evidence",
            Status.WARN,
            f"{detail}; {len(expired)} expired but not purged yet",
            "the kiosk purges at start and hourly; check it is running",
        )
    return Probe("evidence", Status.OK, detail)


def _clock() -> Any:
    from kiosk.platform.probes import clock_probe

    return clock_probe()


def _display() -> Any:
    from kiosk.platform.probes import display_probe

    return display_probe()


def _camera(cfg: Any, timeout_s: float) -> Any:
    from kiosk.platform.probes import camera_probe

    return camera_probe(cfg.camera, timeout_s=timeout_s)
