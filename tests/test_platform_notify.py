"""sd_notify against real AF_UNIX datagram sockets (filesystem path and abstract namespace) and the
main-loop watchdog rate limit."""

from __future__ import annotations

import itertools
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.clock import FakeClock
from kiosk.platform.notify import Notifier, Watchdog, notify_stopping, watchdog_interval_s


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = tmp_path / "notify.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(path))
    s.settimeout(2.0)
    try:
        yield s, str(path)
    finally:
        s.close()


def _recv(s: socket.socket) -> str:
    return s.recv(4096).decode()


def test_ready_status_watchdog_stopping_reach_a_real_socket(notify_socket, monkeypatch) -> None:
    sock, path = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    n = Notifier.from_env()
    assert n.enabled
    assert n.ready("models loaded")
    assert _recv(sock) == "READY=1\nSTATUS=models loaded"
    assert n.status("idle\nsecond line")  # folded to one line: systemd reads line-based assignments
    assert _recv(sock) == "STATUS=idle second line"
    assert n.watchdog()
    assert _recv(sock) == "WATCHDOG=1"
    assert notify_stopping()  # the SIGTERM-handler helper reads NOTIFY_SOCKET itself
    assert _recv(sock) == "STOPPING=1\nSTATUS=stopping"
    assert n.extend_timeout(30)
    assert _recv(sock) == "EXTEND_TIMEOUT_USEC=30000000"


def test_abstract_namespace_socket(monkeypatch) -> None:
    name = f"ekyc-test-{os.getpid()}-{threading.get_ident()}"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(b"\0" + name.encode())
    s.settimeout(2.0)
    try:
        n = Notifier(f"@{name}")
        assert n.ready()
        assert _recv(s) == "READY=1"
    finally:
        s.close()


def test_without_notify_socket_everything_is_a_quiet_noop(monkeypatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    n = Notifier.from_env()
    assert not n.enabled
    assert n.ready() is False and n.stopping() is False
    wd = Watchdog(n, 10.0)
    assert wd.ping(0.0) is False


def test_a_vanished_socket_is_logged_not_raised(tmp_path: Path, caplog) -> None:
    n = Notifier(str(tmp_path / "gone.sock"))
    with caplog.at_level("WARNING"):
        assert n.ready() is False
        assert n.watchdog() is False
    assert sum("sd_notify" in r.message for r in caplog.records) == 1  # warned once, not per call


def test_assignments_must_be_single_key_value_lines(notify_socket) -> None:
    _, path = notify_socket
    n = Notifier(path)
    with pytest.raises(ValueError):
        n.notify("READY")
    with pytest.raises(ValueError):
        n.notify("STATUS=a\nWATCHDOG=1")


def test_watchdog_interval_from_environment() -> None:
    assert watchdog_interval_s({}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 30.0
    # Inherited by a child process: not ours to ping.
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, pid=4242) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "garbage"}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "0"}) is None


def test_watchdog_pings_at_most_every_half_interval(notify_socket) -> None:
    sock, path = notify_socket
    clock = FakeClock(100.0)
    wd = Watchdog.from_env(environ={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "10000000"})
    assert wd.enabled and wd.period_s == 5.0
    sent_at = []
    for _ in range(130):  # 13 s of main-loop iterations at 10 Hz
        if wd.ping(clock.now()):
            sent_at.append(clock.now())
            assert _recv(sock) == "WATCHDOG=1"
        clock.advance(0.1)
    assert len(sent_at) == wd.sent == 3
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert all(g >= 5.0 - 1e-9 for g in gaps)
    assert all(g <= 5.0 + 0.1 + 1e-9 for g in gaps)  # never later than one loop iteration past half


def test_watchdog_refuses_side_threads(notify_socket) -> None:
    _, path = notify_socket
    wd = Watchdog(Notifier(path), 10.0)
    errors: list[BaseException] = []

    def side() -> None:
        try:
            wd.ping(0.0)
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=side)
    t.start()
    t.join()
    assert errors and "main loop" in str(errors[0])
