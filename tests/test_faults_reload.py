"""SIGHUP reloads the config; a bad config keeps the old one and logs the validation error. Driven by a
real SIGHUP to a subprocess that installs a handler using ConfigReloader, as the app does."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from kiosk.config import load_config
from kiosk.platform.reload import ConfigReloader

CHILD = r"""
import logging, signal, sys, time
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
from kiosk.config import load_config
from kiosk.platform.reload import ConfigReloader

r = ConfigReloader(sys.argv[1], load_config(sys.argv[1]))
signal.signal(signal.SIGHUP, lambda *_: r.request())
print("ready", r.current.session.timeout_s, flush=True)
seen = (0, None)
while True:
    cfg = r.poll()                     # the main loop's poll: reloads once per SIGHUP
    now = (r.reloads, r.last_error)    # a new reload or a new rejection
    if now[0] != seen[0] or now[1] is not seen[1]:
        err = r.last_error is not None
        print("timeout_s", cfg.session.timeout_s, "reloads", r.reloads, "error", err, flush=True)
        seen = now
    time.sleep(0.02)
"""


def _line(proc: subprocess.Popen[str], deadline_s: float = 20.0) -> str:
    assert proc.stdout is not None
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        line = proc.stdout.readline()
        if line:
            return line.strip()
        if proc.poll() is not None:
            break
    raise AssertionError(f"no output from child (rc={proc.poll()})")


def test_sighup_reload_and_bad_config_keeps_old(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("session:\n  timeout_s: 120\n")
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert _line(proc) == "ready 120.0"
        cfg.write_text("session:\n  timeout_s: 90\n")
        proc.send_signal(signal.SIGHUP)
        assert _line(proc) == "timeout_s 90.0 reloads 1 error False"

        cfg.write_text("session:\n  timeout_s: -5\n  bogus_key: 1\n")
        proc.send_signal(signal.SIGHUP)
        assert _line(proc) == "timeout_s 90.0 reloads 1 error True"  # old config kept

        cfg.write_text("session:\n  timeout_s: 60\n")
        proc.send_signal(signal.SIGHUP)
        assert _line(proc) == "timeout_s 60.0 reloads 2 error False"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "config reload rejected, keeping the running config" in err
    assert "line 2: session.timeout_s" in err and "line 3: session.bogus_key" in err


def test_reloader_in_process(tmp_path: Path, caplog) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("language: en\n")
    r = ConfigReloader(p, load_config(p))
    old = r.current
    assert r.poll() is old and not r.pending
    p.write_text("language: english\n")
    r.request()
    with caplog.at_level("ERROR"):
        assert r.poll() is old
    assert r.last_error is not None and "language" in caplog.text
    p.unlink()
    assert r.reload() is old and "cannot read" in str(r.last_error)
    p.write_text("language: vi\n")
    assert r.reload().language == "vi" and r.last_error is None and r.reloads == 1
