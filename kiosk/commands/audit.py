"""``ekyc-kiosk audit``: the device signing key and the signed, hash-chained audit log.

Sub-commands (``--config PATH`` defaults to config/default.yaml, else built-in defaults)::

    audit keygen [--config PATH | --key PATH]      create the Ed25519 key (0600); refuses to overwrite
    audit pubkey [--config PATH]                   print the public key PEM (enrol it at the bank)
    audit verify [--config PATH | --db PATH] [--public-key PEM] [--json]
                                                   exit 0 intact, 1 tampered (each problem named), 2 unusable
    audit export [--config PATH | --db PATH] [--out FILE]     JSON lines: signed entry + hash + signature
    audit show N [--config PATH | --db PATH]       entry at chain position N (or a record id), pretty JSON

``verify`` trusts the key given by ``--public-key``, else the device key (``--config``: the private key
file's public half, or ``signing.key.pub``). With ``--db`` and no key next to it, it falls back to the
keys stored inside the log and says so: that catches accidents, not someone able to rewrite the file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_TAMPERED, EXIT_UNUSABLE = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("audit", help="signing key and the signed, hash-chained audit log")
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)

    def common(ap: argparse.ArgumentParser, db: bool = True) -> None:
        ap.add_argument("--config", default=None, help="kiosk config YAML (records.data_dir, key, db)")
        if db:
            ap.add_argument("--db", default=None, help="audit log SQLite file (instead of --config)")

    k = asub.add_parser("keygen", help="create this device's Ed25519 signing key (refuses to overwrite)")
    common(k, db=False)
    k.add_argument(
        "--key", default=None, help="key file path (default: records.signing_key_file in data_dir)"
    )
    k.set_defaults(func=run_keygen)

    pk = asub.add_parser("pubkey", help="print the device public key (PEM) and its key id")
    common(pk, db=False)
    pk.set_defaults(func=run_pubkey)

    v = asub.add_parser("verify", help="check every record's hash, signature, position and the log's end")
    common(v)
    v.add_argument("--public-key", default=None, help="trusted public (or private) key PEM to verify with")
    v.add_argument("--json", action="store_true", help="machine-readable report")
    v.set_defaults(func=run_verify)

    e = asub.add_parser("export", help="write every entry as JSON lines")
    common(e)
    e.add_argument("--out", default="-", help="output file (default: stdout)")
    e.set_defaults(func=run_export)

    s = asub.add_parser("show", help="show the entry at chain position N (or with record id N)")
    common(s)
    s.add_argument("which", help="position (1 = first; -1 = last) or record id")
    s.set_defaults(func=run_show)
    p.set_defaults(func=lambda a: (p.print_help(), EXIT_UNUSABLE)[1])


def _err(msg: str) -> int:
    print(f"ekyc-kiosk audit: {msg}", file=sys.stderr)
    return EXIT_UNUSABLE


def _records_cfg(args: argparse.Namespace) -> Any:
    from kiosk.records.runtime import load_config_arg

    cfg, _src = load_config_arg(args.config)
    return cfg.records


def _db_path(args: argparse.Namespace) -> Path:
    from kiosk.records.runtime import audit_db_path

    if getattr(args, "db", None):
        return Path(args.db)
    return audit_db_path(_records_cfg(args))


def run_keygen(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigValidationError
    from kiosk.errors import KioskError
    from kiosk.records.keys import generate_key, public_path_for
    from kiosk.records.runtime import signing_key_path

    try:
        path = Path(args.key) if args.key else signing_key_path(_records_cfg(args))
        key = generate_key(path)
    except ConfigValidationError as exc:
        return _err(str(exc))
    except KioskError as exc:
        print(f"ekyc-kiosk audit keygen: {exc.message}", file=sys.stderr)
        return EXIT_TAMPERED if exc.code == "key_exists" else EXIT_UNUSABLE
    print(f"created {path} (mode 0600), key id {key.key_id}")
    print(f"public key: {public_path_for(path)} — enrol it with the record receiver")
    return EXIT_OK


def run_pubkey(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigValidationError
    from kiosk.errors import KioskError
    from kiosk.records.keys import load_key
    from kiosk.records.runtime import signing_key_path

    try:
        key = load_key(signing_key_path(_records_cfg(args)))
    except ConfigValidationError as exc:
        return _err(str(exc))
    except KioskError as exc:
        return _err(exc.message)
    sys.stdout.write(key.public_pem().decode("ascii"))
    print(f"# key id {key.key_id}")
    return EXIT_OK


def _trusted_keys(args: argparse.Namespace, db: Path) -> tuple[list[Any], str]:
    """Public keys to verify with and a note on where they came from (empty: none trusted found)."""
    from kiosk.records.keys import load_key, load_public_key, public_path_for
    from kiosk.records.runtime import signing_key_path

    if args.public_key:
        return [load_public_key(args.public_key)], f"--public-key {args.public_key}"
    candidates: list[Path] = []
    if not args.db:
        kp = signing_key_path(_records_cfg(args))
        candidates += [kp, public_path_for(kp)]
    else:
        candidates += sorted(db.parent.glob("*.key.pub"))
    for c in candidates:
        if not c.is_file():
            continue
        try:
            if c.suffix == ".pub":
                return [load_public_key(c)], str(c)
            return [load_key(c).public_key], str(c)
        except Exception:  # unreadable key (permissions as another user): try the next candidate
            continue
    return [], "keys stored inside the log (NOT independent: use --public-key for a real audit)"


def run_verify(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigValidationError
    from kiosk.errors import KioskError
    from kiosk.records.store import verify_db

    try:
        db = _db_path(args)
        keys, source = _trusted_keys(args, db)
        report = verify_db(db, keys or None)
    except ConfigValidationError as exc:
        return _err(str(exc))
    except KioskError as exc:
        return _err(exc.message)
    if args.json:
        out = report.as_dict()
        out.update({"db": str(db), "key_source": source})
        print(json.dumps(out, indent=2))
    else:
        print(f"audit log {db}: {report.entries} entries, signed head at position {report.head_index}")
        print(f"verified with: {source}")
        if report.ok:
            print("OK: every entry is intact, in order, correctly signed, and none is missing")
        else:
            print(f"TAMPERED: {len(report.issues)} problem(s)")
            for issue in report.issues:
                print(f"  {issue}")
    return EXIT_OK if report.ok else EXIT_TAMPERED


def _open_entries(args: argparse.Namespace) -> Any:
    from kiosk.records.store import connect, iter_entries

    con = connect(_db_path(args), create=False)
    return con, iter_entries(con)


def run_export(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigValidationError
    from kiosk.errors import KioskError

    try:
        con, entries = _open_entries(args)
    except ConfigValidationError as exc:
        return _err(str(exc))
    except KioskError as exc:
        return _err(exc.message)
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")  # noqa: SIM115
    n = 0
    try:
        for e in entries:
            out.write(json.dumps(e.as_export(), ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
    finally:
        con.close()
        if out is not sys.stdout:
            out.close()
    if args.out != "-":
        print(f"exported {n} entries to {args.out}", file=sys.stderr)
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigValidationError
    from kiosk.errors import KioskError

    try:
        con, entries = _open_entries(args)
    except ConfigValidationError as exc:
        return _err(str(exc))
    except KioskError as exc:
        return _err(exc.message)
    try:
        rows = list(entries)
    finally:
        con.close()
    which = str(args.which)
    found = None
    try:
        n = int(which)
    except ValueError:
        found = next((e for e in rows if e.record_id == which), None)
    else:
        if n < 0 and -n <= len(rows):
            found = rows[n]
        else:
            found = next((e for e in rows if e.envelope.get("index") == n), None)
    if found is None:
        return _err(f"no entry {which!r} (the log has {len(rows)} entries)")
    shown = found.envelope
    shown["_stored"] = {
        "row": found.seq,
        "hash": found.hash,
        "key_id": found.key_id,
        "signature": found.signature,
    }
    print(json.dumps(shown, indent=2, ensure_ascii=False, sort_keys=True))
    return EXIT_OK
