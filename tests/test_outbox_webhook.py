"""Outbox -> a real local HTTP receiver (http.server on 127.0.0.1): removed only after 2xx, kept on
5xx / connection refused / 4xx, with the record id as idempotency key; https required off-loopback."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from appliance_helpers import free_port, new_log, receiver, sample_record

from kiosk.clock import FakeClock
from kiosk.config import ConfigValidationError, parse_config_text
from kiosk.config.records import WebhookConfig
from kiosk.records.outbox import Outbox, build_sinks
from kiosk.records.webhook import WebhookSink


def hook_cfg(url: str, **kw: object) -> WebhookConfig:
    return WebhookConfig.model_validate({"enabled": True, "url": url, **kw})


def test_delivered_only_after_2xx(tmp_path: Path) -> None:
    key, log = new_log(tmp_path, sinks=("webhook",))
    clock = FakeClock()
    with receiver() as rx:
        sink = WebhookSink(hook_cfg(rx.url, timeout_s=5), "kiosk-test")
        outbox = Outbox(tmp_path / "audit.sqlite", {"webhook": sink}, retry_interval_s=2, clock=clock)
        stored = [log.append(sample_record(i)) for i in range(3)]

        rx.status = 503
        rep = outbox.deliver_pending()
        assert rep.failed and "HTTP 503" in rep.failed[0][2]
        assert outbox.pending() == 3 and len(rx.requests) == 1  # the sink backs off after one failure
        assert not outbox.deliver_pending().failed  # still backing off (fake clock did not move)

        rx.status = 200
        clock.advance(10)
        rep = outbox.deliver_pending()
        assert [rid for _, rid in rep.delivered] == [s.record_id for s in stored]
        assert outbox.pending() == 0
        headers, body = rx.requests[-1]
        assert headers["content-type"] == "application/json"
        assert headers["idempotency-key"] == stored[-1].record_id == json.loads(body)["record_id"]
        assert headers["x-ekyc-kiosk-id"] == "kiosk-test"
        msg = json.loads(body)
        key.public_key.verify(base64.b64decode(msg["signature"]), msg["entry"].encode())
        outbox.close()
    log.close()


def test_receiver_down_keeps_records(tmp_path: Path) -> None:
    key, log = new_log(tmp_path, sinks=("webhook",))
    url = f"http://127.0.0.1:{free_port()}/x"  # nothing listens there
    outbox = Outbox(
        tmp_path / "audit.sqlite",
        {"webhook": WebhookSink(hook_cfg(url), "k")},
        clock=FakeClock(),
    )
    log.append(sample_record(1))
    rep = outbox.deliver_pending()
    assert rep.failed and "unreachable" in rep.failed[0][2]
    assert outbox.pending() == 1
    status = outbox.status()["webhook"]
    assert status["queued"] == 1 and status["failures"] == 1 and "unreachable" in status["last_error"]
    outbox.close()
    log.close()


def test_rejected_record_is_kept_and_others_still_flow(tmp_path: Path) -> None:
    key, log = new_log(tmp_path, sinks=("webhook",))
    clock = FakeClock()
    with receiver() as rx:
        outbox = Outbox(
            tmp_path / "audit.sqlite",
            {"webhook": WebhookSink(hook_cfg(rx.url), "k")},
            clock=clock,
        )
        a = log.append(sample_record(1))
        rx.status = 422
        rep = outbox.deliver_pending()
        assert rep.failed == [("webhook", a.record_id, f"webhook answered HTTP 422 for record {a.record_id}")]
        rx.status = 200
        b = log.append(sample_record(2))
        rep = outbox.deliver_pending()  # the 4xx is about record a only: b goes out now
        assert rep.delivered == [("webhook", b.record_id)]
        assert outbox.pending() == 1
        clock.advance(outbox.max_retry_interval_s + 1)
        assert outbox.deliver_pending().delivered == [("webhook", a.record_id)]
        outbox.close()
    log.close()


def test_https_is_required_off_loopback() -> None:
    with pytest.raises(ConfigValidationError) as ei:
        parse_config_text("records:\n  outbox:\n    webhook:\n      url: http://bank.example/ekyc\n")
    assert "https" in str(ei.value) and "line 4" in str(ei.value)
    cfg = parse_config_text(
        "records:\n  outbox:\n    webhook:\n      enabled: true\n      url: https://bank.example/ekyc\n"
    )
    assert list(build_sinks(cfg.records)) == ["webhook"]
    for ok in ("http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]/x"):
        hook_cfg(ok)
