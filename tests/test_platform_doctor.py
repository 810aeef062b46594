"""`ekyc-kiosk doctor`: each check's verdict and fix on a real data directory, and the probes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from appliance_helpers import sample_record

from kiosk.platform.probes import Status, clock_probe, data_dir_probe
from kiosk.records.keys import load_key
from kiosk.records.store import AuditLog


def _doctor(tmp: Path, *extra: str, config: str | None = None) -> tuple[int, dict[str, dict]]:
    cfg = tmp / "config.yaml"
    if config is None:
        cfg.write_text(f"records:\n  data_dir: {tmp / 'data'}\n  kiosk_id: k-doc\n")
    else:
        cfg.write_text(config)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk",
            "doctor",
            "--config",
            str(cfg),
            "--json",
            "--skip",
            "camera,display",
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=tmp,
        timeout=300,
        env=dict(os.environ),
    )
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, {c["name"]: c for c in json.loads(out.stdout)["checks"]}


def test_fresh_device_is_told_what_to_fix_then_passes(tmp_path: Path) -> None:
    rc, checks = _doctor(tmp_path)
    assert rc == 1
    assert checks["data_dir"]["status"] == "fail" and "install -d" in checks["data_dir"]["fix"]
    assert checks["signing_key"]["status"] == "fail" and "audit keygen" in checks["signing_key"]["fix"]
    assert checks["config"]["status"] == "ok" and checks["models"]["status"] == "ok"

    subprocess.run(
        [sys.executable, "-m", "kiosk", "audit", "keygen", "--config", str(tmp_path / "config.yaml")],
        check=True,
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
    )
    rc, checks = _doctor(tmp_path)
    assert rc == 0, {k: v for k, v in checks.items() if not v["ok"]}
    assert checks["signing_key"]["status"] == "ok" and checks["evidence"]["detail"].startswith("off")
    assert checks["camera"]["status"] == "skipped"

    data = tmp_path / "data"
    log = AuditLog(data / "audit.sqlite", load_key(data / "signing.key"), "k-doc", sinks=("webhook",))
    stored = [log.append(sample_record(i)) for i in range(3)]
    log.close()
    rc, checks = _doctor(tmp_path)
    assert checks["audit_log"]["status"] == "ok" and "3 entries" in checks["audit_log"]["detail"]
    assert checks["outbox"]["status"] == "warn" and "webhook: 3 waiting" in checks["outbox"]["detail"]
    assert "no longer configured" in checks["outbox"]["fix"]

    con = sqlite3.connect(data / "audit.sqlite")
    con.execute("DELETE FROM entries WHERE seq = 2")
    con.commit()
    con.close()
    rc, checks = _doctor(tmp_path)
    assert rc == 1 and checks["audit_log"]["status"] == "fail"
    assert stored[1].record_id in checks["audit_log"]["detail"]


def test_invalid_config_is_reported_with_its_line(tmp_path: Path) -> None:
    rc, checks = _doctor(tmp_path, config="records:\n  min_free_mb: -1\n")
    assert rc == 1
    assert checks["config"]["status"] == "fail" and "line 2" in checks["config"]["detail"]
    assert checks["disk"]["status"] == "fail" and "config" in checks["disk"]["detail"]


def test_unknown_skip_name_is_an_error(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kiosk", "doctor", "--skip", "camra"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 2 and "camra" in out.stderr


def test_clock_probe_judges_the_wall_clock() -> None:
    assert clock_probe(wall=lambda: 0.0).status is Status.FAIL  # 1970: an RTC-less board before NTP
    assert clock_probe(wall=lambda: 1.8e9, ntp=lambda: True).status is Status.OK
    p = clock_probe(wall=lambda: 1.8e9, ntp=lambda: False)
    assert p.status is Status.WARN and "NTP" in p.detail
    assert clock_probe(wall=lambda: 1.8e9, ntp=lambda: None).status is Status.WARN


def test_data_dir_probe(tmp_path: Path) -> None:
    d = tmp_path / "d"
    assert data_dir_probe(d).status is Status.FAIL
    d.mkdir(mode=0o700)
    assert data_dir_probe(d).status is Status.OK
    d.chmod(0o777)
    assert data_dir_probe(d).status is Status.WARN
    assert list(d.iterdir()) == []  # the write test cleans up after itself


def test_camera_probe_opens_the_configured_source(tmp_path: Path, data_dir: Path) -> None:
    video = data_dir / "liveness_videos" / "blink_detector_video.mp4"
    if not video.is_file():
        pytest.skip(f"{video} absent")
    cfg = f"camera:\n  type: file\n  path: {video}\nrecords:\n  data_dir: {tmp_path / 'data'}\n"
    (tmp_path / "config.yaml").write_text(cfg)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk",
            "doctor",
            "--config",
            str(tmp_path / "config.yaml"),
            "--json",
            "--skip",
            "display",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    checks = {c["name"]: c for c in json.loads(out.stdout)["checks"]}
    assert checks["camera"]["status"] == "ok" and "frame" in checks["camera"]["detail"], checks["camera"]


def test_camera_probe_reports_an_absent_device() -> None:
    from kiosk.config import parse_config_text
    from kiosk.platform.probes import camera_probe

    cfg = parse_config_text("camera:\n  type: opencv\n  device: 63\n")
    p = camera_probe(cfg.camera, timeout_s=1.0)
    assert p.status in (Status.FAIL, Status.UNAVAILABLE) and p.fix
    assert p.status is Status.UNAVAILABLE or "did not open" in p.detail or "no frame" in p.detail
