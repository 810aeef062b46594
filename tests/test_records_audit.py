"""Signed, hash-chained audit log: durability settings, every kind of tampering found and named, the
no-biometrics guard, the device key, and the `ekyc-kiosk audit` command."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from appliance_helpers import new_log, sample_record

from kiosk.errors import InputError, StorageError
from kiosk.records.keys import generate_key, load_key
from kiosk.records.record import canonical_json
from kiosk.records.store import GENESIS_HASH, AuditLog, verify_db


@pytest.fixture
def log6(tmp_path: Path):
    key, log = new_log(tmp_path)
    stored = [log.append(sample_record(i)) for i in range(6)]
    log.close()
    return tmp_path / "audit.sqlite", key, stored


def _tampered(db: Path, tmp: Path, name: str, sql: str) -> Path:
    out = tmp / f"{name}.sqlite"
    shutil.copy(db, out)
    con = sqlite3.connect(out)
    con.executescript(sql)
    con.commit()
    con.close()
    return out


def test_append_is_durable_and_chained(tmp_path: Path) -> None:
    key, log = new_log(tmp_path)
    s1 = log.append(sample_record(1))
    s2 = log.append(sample_record(2))
    assert (s1.seq, s2.seq) == (1, 2)
    con = log._con
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    e1, e2 = list(log.entries())
    assert e1.envelope["prev_hash"] == GENESIS_HASH and e2.envelope["prev_hash"] == e1.hash == s1.hash
    assert e2.envelope["prev_record_id"] == s1.record_id
    assert e1.record["match"]["threshold"] == 0.52
    assert log.verify().ok
    # Committed means visible to a brand-new connection (another process would see the same).
    other = sqlite3.connect(tmp_path / "audit.sqlite")
    assert other.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 2
    other.close()
    mode = stat.S_IMODE((tmp_path / "audit.sqlite").stat().st_mode)
    assert mode == 0o600
    log.close()


def test_intact_log_verifies(log6) -> None:
    db, key, stored = log6
    rep = verify_db(db, [key.public_key])
    assert rep.ok and rep.entries == 6 and rep.head_index == 6 and rep.keys_trusted


def test_edited_record_is_named(log6, tmp_path: Path) -> None:
    db, key, stored = log6
    bad = _tampered(
        db,
        tmp_path,
        "edit",
        "UPDATE entries SET entry = replace(entry, '\"score\":0.41', '\"score\":0.11') WHERE seq = 3",
    )
    rep = verify_db(bad, [key.public_key])
    assert not rep.ok
    assert [(i.kind, i.position, i.record_id) for i in rep.issues] == [("edited", 3, stored[2].record_id)]


def test_edit_with_recomputed_hash_fails_the_signature(log6, tmp_path: Path) -> None:
    db, key, stored = log6
    out = tmp_path / "rehash.sqlite"
    shutil.copy(db, out)
    con = sqlite3.connect(out)
    entry = json.loads(con.execute("SELECT entry FROM entries WHERE seq = 4").fetchone()[0])
    entry["record"]["decision"] = "accept" if entry["record"]["decision"] == "reject" else "reject"
    body = canonical_json(entry)
    import hashlib

    con.execute(
        "UPDATE entries SET entry = ?, hash = ? WHERE seq = 4",
        (body.decode(), hashlib.sha256(body).hexdigest()),
    )
    con.commit()
    con.close()
    rep = verify_db(out, [key.public_key])
    kinds = [(i.kind, i.position, i.record_id) for i in rep.issues]
    assert ("edited", 4, stored[3].record_id) in kinds
    assert any("signature" in i.message for i in rep.issues)


def test_deleted_record_is_named_even_after_renumbering(log6, tmp_path: Path) -> None:
    db, key, stored = log6
    for name, sql in (
        ("delete", "DELETE FROM entries WHERE seq = 3"),
        ("delete_renum", "DELETE FROM entries WHERE seq = 3; UPDATE entries SET seq = seq - 1 WHERE seq > 3"),
    ):
        rep = verify_db(_tampered(db, tmp_path, name, sql), [key.public_key])
        assert [(i.kind, i.position, i.record_id) for i in rep.issues] == [
            ("deleted", 3, stored[2].record_id)
        ], name


def test_truncated_tail_is_named(log6, tmp_path: Path) -> None:
    db, key, stored = log6
    rep = verify_db(_tampered(db, tmp_path, "trunc", "DELETE FROM entries WHERE seq >= 5"), [key.public_key])
    # The signed head names the last record; the id of one deleted before it is not recoverable locally.
    assert [(i.kind, i.position, i.record_id) for i in rep.issues] == [
        ("truncated", 5, None),
        ("truncated", 6, stored[5].record_id),
    ]


def test_reordered_records_are_named(log6, tmp_path: Path) -> None:
    db, key, stored = log6
    swap = (
        "UPDATE entries SET seq = 100 WHERE seq = 2; UPDATE entries SET seq = 2 WHERE seq = 3; "
        "UPDATE entries SET seq = 3 WHERE seq = 100"
    )
    rep = verify_db(_tampered(db, tmp_path, "swap", swap), [key.public_key])
    assert [(i.kind, i.position, i.record_id) for i in rep.issues] == [("reordered", 2, stored[1].record_id)]
    assert stored[2].record_id in rep.issues[0].message  # names the record it was moved behind


def test_inserted_records_are_named(log6, tmp_path: Path) -> None:
    db, key, stored = log6
    # A forged entry (copied signature, changed content) squeezed in at position 3.
    sql = (
        "UPDATE entries SET seq = seq + 100 WHERE seq >= 3; "
        "UPDATE entries SET seq = seq - 99 WHERE seq >= 103; "
        "INSERT INTO entries (seq, record_id, entry, hash, signature, key_id) "
        "SELECT 3, 'forged0000001', replace(entry, 'sess-0001', 'sess-9999'), hash, signature, key_id "
        "FROM entries WHERE seq = 2"
    )
    rep = verify_db(_tampered(db, tmp_path, "ins", sql), [key.public_key])
    assert [(i.kind, i.record_id, i.stored_seq) for i in rep.issues] == [("inserted", "forged0000001", 3)]
    # A record signed by another key appended at the end.
    other_key, other = new_log(tmp_path / "other")
    other.append(sample_record(99))
    row = other._con.execute("SELECT record_id, entry, hash, signature, key_id FROM entries").fetchone()
    other.close()
    out = tmp_path / "ins2.sqlite"
    shutil.copy(db, out)
    con = sqlite3.connect(out)
    con.execute(
        "INSERT INTO entries (seq, record_id, entry, hash, signature, key_id) VALUES (7, ?, ?, ?, ?, ?)", row
    )
    con.commit()
    con.close()
    rep = verify_db(out, [key.public_key])
    assert [(i.kind, i.record_id) for i in rep.issues] == [("inserted", row[0])]
    assert "unknown key" in rep.issues[0].message


def test_rewritten_head_is_detected(log6, tmp_path: Path) -> None:
    db, key, stored = log6
    rep = verify_db(
        _tampered(db, tmp_path, "head", "UPDATE head SET entry = replace(entry, '6', '5')"), [key.public_key]
    )
    assert not rep.ok and rep.issues[0].kind == "head"


def test_writer_refuses_to_append_to_an_altered_log(log6, tmp_path: Path) -> None:
    db, key, stored = log6
    bad = _tampered(db, tmp_path, "trunc2", "DELETE FROM entries WHERE seq = 6")
    with pytest.raises(StorageError) as ei:
        AuditLog(bad, key, "kiosk-test")
    assert ei.value.code == "audit_tampered"


def test_without_a_trusted_key_the_report_says_so(log6) -> None:
    db, key, stored = log6
    rep = verify_db(db)
    assert rep.ok and not rep.keys_trusted


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("embedding", [0.1] * 128),
        ("face_image", "xx"),
        ("landmarks", [[0.1, 0.2]] * 5),
    ],
)
def test_records_refuse_biometric_keys(tmp_path: Path, field: str, value: object) -> None:
    key, log = new_log(tmp_path)
    rec = sample_record(1)
    rec["match"][field] = value
    with pytest.raises(InputError):
        log.append(rec)
    assert log.count() == 0
    log.close()


def test_records_refuse_arrays_bytes_and_long_vectors(tmp_path: Path) -> None:
    key, log = new_log(tmp_path)
    for bad in (np.zeros(128, np.float32), b"\xff\xd8\xff\xe0", [0.5] * 64, float("nan"), "A" * 5000):
        rec = sample_record(1)
        rec["liveness"]["extra"] = bad
        with pytest.raises(InputError):
            log.append(rec)
    assert log.count() == 0
    with pytest.raises(InputError):
        log.append({"session_id": "s", "decision": "maybe", "kiosk_id": "k"})
    log.close()


def test_duplicate_record_id_is_refused(tmp_path: Path) -> None:
    key, log = new_log(tmp_path)
    rec = sample_record(1)
    log.append(rec)
    with pytest.raises(StorageError) as ei:
        log.append(rec)
    assert ei.value.code == "audit_duplicate"
    assert log.verify().ok and log.count() == 1
    log.close()


def test_keygen_makes_0600_and_refuses_to_overwrite(tmp_path: Path) -> None:
    p = tmp_path / "keys" / "signing.key"
    k = generate_key(p)
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert (tmp_path / "keys" / "signing.key.pub").is_file()
    before = p.read_bytes()
    with pytest.raises(StorageError) as ei:
        generate_key(p)
    assert ei.value.code == "key_exists" and p.read_bytes() == before
    assert load_key(p).key_id == k.key_id
    p.chmod(0o644)
    with pytest.raises(StorageError) as ei:
        load_key(p)
    assert ei.value.code == "key_permissions"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_audit_cli_keygen_verify_export_show(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    data = tmp_path / "data"
    cfg.write_text(f"records:\n  data_dir: {data}\n  kiosk_id: k-1\n")
    r = _cli("audit", "keygen", "--config", str(cfg), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE((data / "signing.key").stat().st_mode) == 0o600
    r = _cli("audit", "keygen", "--config", str(cfg), cwd=tmp_path)
    assert r.returncode == 1 and "refusing to overwrite" in r.stderr

    log = AuditLog(data / "audit.sqlite", load_key(data / "signing.key"), "k-1")
    stored = [log.append(sample_record(i, kiosk_id="k-1")) for i in range(4)]
    log.close()

    r = _cli("audit", "verify", "--config", str(cfg), "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert rep["ok"] and rep["entries"] == 4 and rep["keys_trusted"]

    r = _cli("audit", "export", "--config", str(cfg), cwd=tmp_path)
    lines = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert [ln["record_id"] for ln in lines] == [s.record_id for s in stored]
    # An export line verifies on its own with the public key (what the bank does).
    from kiosk.records.keys import load_public_key

    pub = load_public_key(data / "signing.key.pub")
    import base64

    pub.verify(base64.b64decode(lines[0]["signature"]), lines[0]["entry"].encode())

    r = _cli("audit", "show", "2", "--config", str(cfg), cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["record_id"] == stored[1].record_id
    r = _cli("audit", "show", stored[3].record_id, "--config", str(cfg), cwd=tmp_path)
    assert json.loads(r.stdout)["index"] == 4

    con = sqlite3.connect(data / "audit.sqlite")
    con.execute("DELETE FROM entries WHERE seq = 2")
    con.commit()
    con.close()
    r = _cli("audit", "verify", "--db", str(data / "audit.sqlite"), cwd=tmp_path)
    assert r.returncode == 1
    assert f"deleted: record {stored[1].record_id} at position 2" in r.stdout
    assert "signing.key.pub" in r.stdout  # --db found the public key next to the log


def test_audit_cli_missing_db_is_a_clear_error(tmp_path: Path) -> None:
    r = _cli("audit", "verify", "--db", str(tmp_path / "nope.sqlite"), cwd=tmp_path)
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_the_engines_record_is_accepted_and_stamped(tmp_path: Path) -> None:
    """The record the session engine builds goes into the log as is (one decision vocabulary)."""
    from kiosk.flow.context import Context, StaticInfo
    from kiosk.flow.engine import build_record
    from kiosk.flow.states import Decision

    ctx = Context(
        static=StaticInfo(
            kiosk_id="k1", model_sha256={"face_landmarker": "64"}, config_sha256="c", app_version="0.1"
        )
    )
    rec = build_record(ctx.evolve(session_id="s-1"), Decision.REJECTED, ("face_mismatch",), 10.0)
    key, log = new_log(tmp_path)
    stored = log.append(rec)
    entry = log.get(stored.record_id)
    assert entry is not None
    assert entry.record["decision"] == "rejected" and entry.record["created_at"].endswith("+00:00")
    assert log.verify().ok
    log.close()
