"""Disk full: the pre-session check refuses with a clear reason, a write that hits ENOSPC fails cleanly
(StorageError, nothing half-written), and the log verifies and accepts records again once space is back.
Uses a real 1 MiB tmpfs when we may mount one (root), else a min_free_mb above the free space."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from appliance_helpers import sample_record

from kiosk.errors import StorageError
from kiosk.platform.probes import Status, disk_ok, disk_probe
from kiosk.records.keys import generate_key
from kiosk.records.store import AuditLog, verify_db


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    mount = shutil.which("mount")
    if os.geteuid() != 0 or mount is None:
        pytest.skip("mounting a tmpfs needs root (the min_free_mb variant below still runs)")
    r = subprocess.run(
        [mount, "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mnt)], capture_output=True, text=True
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_check_refuses_sessions_when_free_space_is_below_minimum(tmp_path: Path) -> None:
    ok, free = disk_ok(tmp_path, 1)
    assert ok and free > 1
    ok, free2 = disk_ok(tmp_path, free + 10_000)
    assert not ok
    probe = disk_probe(tmp_path, free + 10_000)
    assert probe.status is Status.FAIL and "MB free" in probe.detail and "refused" in probe.fix
    # A data directory that does not exist yet is judged by the file system it will live on.
    assert disk_ok(tmp_path / "not" / "yet", 1)[0]


def test_full_tmpfs_stops_sessions_and_keeps_the_log_sound(tiny_fs: Path) -> None:
    key = generate_key(tiny_fs / "signing.key")
    log = AuditLog(tiny_fs / "audit.sqlite", key, "kiosk-test", sinks=("webhook",))
    first = [log.append(sample_record(i)) for i in range(3)]
    ok, free = disk_ok(tiny_fs, 0.5)
    assert ok, free

    # Fill the file system.
    filler = tiny_fs / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    ok, free = disk_ok(tiny_fs, 0.5)
    assert not ok and free < 0.5  # the app shows "out of service" instead of starting a session

    # A write attempted anyway fails cleanly, with a storage error, never a half record.
    with pytest.raises(StorageError) as ei:
        for i in range(3, 200):
            log.append(sample_record(i))
    assert ei.value.code == "audit_disk_full" and "disk full" in ei.value.message
    written = log.count()
    log.close()

    filler.unlink()
    rep = verify_db(tiny_fs / "audit.sqlite", [key.public_key])
    assert rep.ok, [str(i) for i in rep.issues]
    assert rep.entries == written >= 3
    log = AuditLog(tiny_fs / "audit.sqlite", key, "kiosk-test")
    after = log.append(sample_record(500))
    assert after.seq == written + 1 and log.verify().ok
    assert {s.record_id for s in first} <= {e.record_id for e in log.entries()}
    log.close()
