"""Outputs: data directory, decision records and audit log, delivery, retention and evidence."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kiosk.config.base import Section


class MqttConfig(Section):
    enabled: bool = Field(False, description="Deliver decision records to an MQTT broker")
    host: str = Field("localhost", min_length=1, description="Broker host name")
    port: int = Field(1883, ge=1, le=65535, description="Broker TCP port")
    topic: str = Field(
        "ekyc/{kiosk_id}/decisions", min_length=1, description="Topic; {kiosk_id} is filled in"
    )
    tls: bool = Field(False, description="Use TLS")
    ca_file: str | None = Field(None, description="CA bundle for TLS; null uses the system store")
    username: str | None = Field(None, description="User name, if the broker wants one")
    password_file: str | None = Field(None, description="File holding the password (not the password)")
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keepalive (s)")


class WebhookConfig(Section):
    enabled: bool = Field(False, description="Deliver decision records by HTTPS POST")
    url: str = Field("https://bank.example/ekyc/decisions", min_length=1, description="Endpoint URL")
    timeout_s: float = Field(10.0, gt=0, le=120, description="Request timeout (s)")
    ca_file: str | None = Field(None, description="CA bundle; null uses the system store")


class OutboxConfig(Section):
    retry_interval_s: float = Field(
        5.0, gt=0, le=3600, description="Retry undelivered records this often (s)"
    )
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    webhook: WebhookConfig = Field(default_factory=WebhookConfig)


class EvidenceConfig(Section):
    enabled: bool = Field(
        False, description="Keep encrypted evidence images (off: nothing outlives the session)"
    )
    ttl_h: float = Field(72.0, gt=0, le=24 * 365, description="Evidence is deleted after this many hours")
    key_file: str = Field(
        "evidence.key", min_length=1, description="Symmetric key file, relative to data_dir"
    )


class RecordsConfig(Section):
    kiosk_id: str = Field("kiosk-dev", min_length=1, max_length=64, description="This kiosk's id")
    data_dir: str = Field(
        "var", min_length=1, description="Writable data directory (audit log, outbox, keys)"
    )
    signing_key_file: str = Field(
        "signing.key", min_length=1, description="Ed25519 private key, relative to data_dir"
    )
    min_free_mb: int = Field(
        200, ge=1, le=1_000_000, description="Refuse new sessions below this free disk (MB)"
    )
    retention: Literal["session", "evidence"] = Field(
        "session", description="session: no face image or template outlives its session"
    )
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig)
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)
