"""The kiosk as the service runs it: a real process talking sd_notify over a real datagram socket,
reloading its config on SIGHUP (a bad file keeps the old one), stopping cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CFG = """
language: {lang}
display: {{fullscreen: false, width_px: 640, height_px: 400}}
records: {{kiosk_id: kiosk-proc, data_dir: "{data}"}}
"""


def _events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def _wait_for(pred, timeout_s: float, what: str):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        got = pred()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _run_headless(
    cfg_path: Path, env: dict[str, str], *extra: str, timeout_s: float
) -> subprocess.CompletedProcess:
    """``ekyc-kiosk run --headless`` with the astronaut actor for one session, to completion."""
    cmd = [sys.executable, "-m", "kiosk", "run", "--config", str(cfg_path), "--headless"]
    cmd += ["--source", "actor:astronaut", "--sessions", "1", *extra]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False)


@pytest.fixture
def notify(tmp_path: Path):
    path = tmp_path / "notify.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(path))
    s.settimeout(60)
    yield s, path
    s.close()


def test_service_lifecycle_ready_watchdog_reload_stop(tmp_path: Path, notify) -> None:
    sock, sock_path = notify
    cfg_path = tmp_path / "kiosk.yaml"
    cfg_path.write_text(CFG.format(lang="en", data=tmp_path / "data"))
    keygen = subprocess.run(
        [sys.executable, "-m", "kiosk", "audit", "keygen", "--config", str(cfg_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert keygen.returncode == 0, keygen.stderr
    events = tmp_path / "events.jsonl"
    env = {
        **os.environ,
        "NOTIFY_SOCKET": str(sock_path),
        "WATCHDOG_USEC": "1000000",
        "WATCHDOG_PID": "",
        "SDL_VIDEODRIVER": "dummy",
        "EKYC_DATA_DIR": str(tmp_path / "no-data"),
    }
    # Not headless: the (dummy) screen waits on the attract scene for a touch that never comes.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk",
            "run",
            "--config",
            str(cfg_path),
            "--source",
            "actor:astronaut",
            "--events",
            str(events),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        got: list[str] = []
        while not any(m.startswith("READY=1") for m in got):
            got.append(sock.recv(4096).decode())
        sock.settimeout(5)
        assert sock.recv(4096).decode() == "WATCHDOG=1"  # pinged from the main loop
        assert _events(events)[0]["event"] == "kiosk_started"

        cfg_path.write_text(CFG.format(lang="vi", data=tmp_path / "data"))
        proc.send_signal(signal.SIGHUP)
        _wait_for(lambda: [e for e in _events(events) if e["event"] == "config_reloaded"], 20, "reload")

        cfg_path.write_text("language: vi\nsession:\n  retries: 99\n")
        proc.send_signal(signal.SIGHUP)
        bad = _wait_for(
            lambda: [e for e in _events(events) if e["event"] == "config_reload_rejected"],
            20,
            "rejected reload",
        )
        assert "session.retries" in bad[0]["error"] and "line 3" in bad[0]["error"]

        proc.send_signal(signal.SIGTERM)
        sock.settimeout(10)
        msgs = []
        while not any(m.startswith("STOPPING=1") for m in msgs):
            msgs.append(sock.recv(4096).decode())
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err


def test_tampered_model_refuses_to_start(tmp_path: Path, repo_dir: Path) -> None:
    import shutil

    models = tmp_path / "models"
    shutil.copytree(repo_dir / "models", models)
    blob = bytearray((models / "face_embedder_int8.tflite").read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (models / "face_embedder_int8.tflite").write_bytes(bytes(blob))
    cfg_path = tmp_path / "kiosk.yaml"
    cfg_path.write_text(CFG.format(lang="en", data=tmp_path / "data"))
    env = {**os.environ, "EKYC_MODELS_DIR": str(models), "SDL_VIDEODRIVER": "dummy"}
    r = _run_headless(cfg_path, env, timeout_s=120)
    assert r.returncode == 1
    assert "face_embedder_int8 failed its integrity check" in r.stderr
    assert "Traceback" not in r.stderr


def test_run_command_writes_events_and_screenshots(tmp_path: Path) -> None:
    cfg_path = tmp_path / "kiosk.yaml"
    cfg_path.write_text(CFG.format(lang="en", data=tmp_path / "data"))
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "EKYC_DATA_DIR": str(tmp_path / "no-data")}
    r = _run_headless(
        cfg_path,
        env,
        "--seed",
        "3",
        "--fast",
        "--events",
        str(tmp_path / "ev.jsonl"),
        "--screenshots",
        str(tmp_path / "shots"),
        timeout_s=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["decision"] in ("approved", "rejected", "aborted")
    evs = _events(tmp_path / "ev.jsonl")
    kinds = [e["event"] for e in evs]
    assert kinds[0] == "kiosk_started" and "session_started" in kinds and kinds[-1] == "decision"
    decision = evs[-1]
    for key in (
        "session_id",
        "decision",
        "reasons",
        "document",
        "match",
        "liveness",
        "timings",
        "models",
        "config_sha256",
        "record_id",
    ):
        assert key in decision
    assert not any(isinstance(v, str) and len(v) > 2000 for v in decision.values())
    assert len(list((tmp_path / "shots").glob("*.png"))) >= 4
