"""Shared helpers for the appliance tests (records, outbox, privacy, faults): real keys, real logs,
a real Mosquitto broker process and a real local HTTP receiver. Not a test module itself."""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kiosk.flow.states import Decision
from kiosk.records.keys import SigningKey, generate_key
from kiosk.records.record import DecisionRecord
from kiosk.records.store import AuditLog


def sample_record(i: int, kiosk_id: str = "kiosk-test", score: float = 0.41) -> dict[str, Any]:
    return DecisionRecord(
        session_id=f"sess-{i:04d}",
        decision=Decision.APPROVED if i % 3 else Decision.REJECTED,
        kiosk_id=kiosk_id,
        reasons=[] if i % 3 else ["face_mismatch"],
        document={"portrait_found": True, "quality": 0.8},
        match={"score": score, "threshold": 0.52, "fmr_target": 1e-4, "metric": "euclidean"},
        liveness={"passed": True, "challenges": ["blink", "turn_left"]},
        timings={"total_s": 20.5 + i, "match_ms": 31.0},
        model_sha256={"face_landmarker": "64184e229b26"},
        config_sha256="c" * 64,
    ).to_dict()


def new_log(
    tmp: Path, sinks: tuple[str, ...] = (), kiosk_id: str = "kiosk-test"
) -> tuple[SigningKey, AuditLog]:
    key = generate_key(tmp / "signing.key")
    return key, AuditLog(tmp / "audit.sqlite", key, kiosk_id, sinks=sinks)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout_s: float = 10.0, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """True once 127.0.0.1:port accepts; False on timeout or when ``proc`` exited first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def mosquitto_binary() -> str:
    exe = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if exe is None:
        pytest.skip(
            "mosquitto is not installed (apt-get install mosquitto); the broker tests need a real broker"
        )
    return exe


class Broker:
    """A real mosquitto process on 127.0.0.1:port with a temp config; start/stop at will."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.exe = mosquitto_binary()
        self.port = port
        self.conf = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"
        self.conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            + ("user root\n" if os.geteuid() == 0 else "")  # keep access to the 0700 test directory
            + f"log_dest file {self.log}\nlog_type error\nlog_type warning\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if not wait_port(self.port, proc=self.proc):
            self.stop()
            raise RuntimeError(
                f"mosquitto did not listen on {self.port}: {self.log.read_text(errors='replace')}"
            )

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None


class Subscriber:
    """A paho subscriber (QoS 1) collecting (topic, payload) pairs."""

    def __init__(self, port: int, topic: str) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[bytes] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id="test-subscriber")
        c.on_connect = lambda cl, ud, fl, rc, pr: cl.subscribe(topic, qos=1)
        c.on_subscribe = lambda *a: self._subscribed.set()
        c.on_message = self._on_message
        c.connect("127.0.0.1", port)
        c.loop_start()
        self.client = c
        if not self._subscribed.wait(10):
            raise RuntimeError("test subscriber did not subscribe")

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self._lock:
            self.messages.append(bytes(msg.payload))

    def wait_for(self, n: int, timeout_s: float = 15.0) -> list[bytes]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= n:
                    return list(self.messages)
            time.sleep(0.05)
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Receiver:
    """A real http.server on 127.0.0.1 that records POSTs and answers with ``status`` (settable)."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/ekyc/decisions"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()
