"""Outbox -> a real Mosquitto broker (own process, loopback, temp config): records survive the broker
being down, are each delivered once it is back, are removed only after PUBACK, and duplicates carry the
same record_id. Skips when the mosquitto binary is absent."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
from appliance_helpers import Broker, Subscriber, free_port, mosquitto_binary, new_log, sample_record

from kiosk.clock import FakeClock
from kiosk.config.records import MqttConfig
from kiosk.records.mqtt import MqttSink
from kiosk.records.outbox import Outbox

TOPIC = "ekyc/kiosk-test/decisions"


@pytest.fixture
def broker(tmp_path: Path):
    mosquitto_binary()
    b = Broker(tmp_path, free_port())
    yield b
    b.stop()


def mqtt_cfg(port: int, **kw: object) -> MqttConfig:
    return MqttConfig.model_validate({"enabled": True, "host": "127.0.0.1", "port": port, **kw})


def _drain(outbox: Outbox, clock: FakeClock, deadline_s: float = 30.0) -> None:
    """Run delivery passes (advancing the fake back-off clock) until the outbox is empty or time is up."""
    end = time.monotonic() + deadline_s
    while outbox.pending() and time.monotonic() < end:
        outbox.deliver_pending()
        clock.advance(60.0)
        if outbox.pending():
            time.sleep(0.2)  # real time for paho's reconnect thread


def _ids(payloads: list[bytes]) -> list[str]:
    return [json.loads(p)["record_id"] for p in payloads]


def test_broker_down_then_back_each_record_delivered(tmp_path: Path, broker: Broker) -> None:
    key, log = new_log(tmp_path, sinks=("mqtt",))
    cfg = mqtt_cfg(broker.port, ack_timeout_s=5)
    sink = MqttSink(cfg, "kiosk-test")
    assert sink.topic == TOPIC
    clock = FakeClock()
    outbox = Outbox(tmp_path / "audit.sqlite", {"mqtt": sink}, retry_interval_s=1, clock=clock)
    try:
        # 1. Broker down: appends succeed, delivery fails, nothing is lost.
        stored = [log.append(sample_record(i)) for i in range(5)]
        rep = outbox.deliver_pending()
        assert not rep.delivered and rep.failed and "unreachable" in rep.failed[0][2]
        assert outbox.pending() == 5
        rep = outbox.deliver_pending()  # sink backing off: not even tried
        assert not rep.failed and outbox.pending() == 5

        # 2. Broker up, a subscriber listening: every record arrives, the outbox empties.
        broker.start()
        sub = Subscriber(broker.port, TOPIC)
        try:
            _drain(outbox, clock)
            assert outbox.pending() == 0
            got = sub.wait_for(5)
            assert sorted(set(_ids(got))) == sorted(s.record_id for s in stored)
            # The payload is the signed entry: the receiver verifies it with the device public key.
            msg = json.loads(got[0])
            key.public_key.verify(base64.b64decode(msg["signature"]), msg["entry"].encode())
            assert json.loads(msg["entry"])["record"]["record_id"] == msg["record_id"]

            # 3. Broker restarts: new records wait, then go out over paho's reconnection.
            broker.stop()
            more = [log.append(sample_record(i)) for i in range(5, 8)]
            rep = outbox.deliver_pending()
            assert outbox.pending() == 3 and not rep.delivered
            broker.start()
            sub.close()
            sub = Subscriber(broker.port, TOPIC)
            _drain(outbox, clock)
            assert outbox.pending() == 0
            got2 = sub.wait_for(3)
            assert {s.record_id for s in more} <= set(_ids(got2))
        finally:
            sub.close()
    finally:
        outbox.close()
        log.close()


def test_redelivery_duplicates_are_recognisable_by_record_id(tmp_path: Path, broker: Broker) -> None:
    broker.start()
    key, log = new_log(tmp_path, sinks=("mqtt",))
    sink = MqttSink(mqtt_cfg(broker.port), "kiosk-test")
    outbox = Outbox(tmp_path / "audit.sqlite", {"mqtt": sink}, clock=FakeClock())
    sub = Subscriber(broker.port, TOPIC)
    try:
        s = log.append(sample_record(1))
        assert outbox.deliver_pending().delivered == [("mqtt", s.record_id)]
        # A crash between PUBACK and the outbox delete leaves the row queued: it goes out again.
        log._con.execute("INSERT INTO outbox (record_id, sink) VALUES (?, 'mqtt')", (s.record_id,))
        assert outbox.deliver_pending().delivered == [("mqtt", s.record_id)]
        got = sub.wait_for(2)
        assert _ids(got) == [s.record_id, s.record_id]
        assert len(set(_ids(got))) == 1  # the receiver de-duplicates on record_id
    finally:
        sub.close()
        outbox.close()
        log.close()


def test_delivery_thread_sends_in_background(tmp_path: Path, broker: Broker) -> None:
    broker.start()
    key, log = new_log(tmp_path, sinks=("mqtt",))
    sink = MqttSink(mqtt_cfg(broker.port), "kiosk-test")
    outbox = Outbox(tmp_path / "audit.sqlite", {"mqtt": sink}, retry_interval_s=0.2)
    sub = Subscriber(broker.port, TOPIC)
    outbox.start()
    try:
        stored = [log.append(sample_record(i)) for i in range(4)]
        outbox.notify()
        got = sub.wait_for(4)
        assert {s.record_id for s in stored} <= set(_ids(got))
        end = time.monotonic() + 10
        while outbox.pending() and time.monotonic() < end:
            time.sleep(0.05)
        assert outbox.pending() == 0
    finally:
        outbox.stop()
        sub.close()
        outbox.close()
        log.close()
