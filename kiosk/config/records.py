"""Outputs: data directory, decision records and audit log, delivery, retention and evidence."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

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
    client_cert_file: str | None = Field(None, description="Client certificate (PEM) for mutual TLS")
    client_key_file: str | None = Field(None, description="Client private key (PEM) for mutual TLS")
    ack_timeout_s: float = Field(10.0, gt=0, le=300, description="Wait this long for PUBACK per record (s)")


class WebhookConfig(Section):
    enabled: bool = Field(False, description="Deliver decision records by HTTPS POST")
    url: str = Field("https://bank.example/ekyc/decisions", min_length=1, description="Endpoint URL")
    timeout_s: float = Field(10.0, gt=0, le=120, description="Request timeout (s)")
    ca_file: str | None = Field(None, description="CA bundle; null uses the system store")
    auth_token_file: str | None = Field(
        None, description="File holding a bearer token sent as Authorization (not the token itself)"
    )
    client_cert_file: str | None = Field(None, description="Client certificate (PEM) for mutual TLS")
    client_key_file: str | None = Field(None, description="Client private key (PEM) for mutual TLS")

    @field_validator("url")
    @classmethod
    def _https_only(cls, v: str) -> str:
        parts = urlsplit(v)
        if not parts.hostname:
            raise ValueError("url needs a host, e.g. https://bank.example/ekyc/decisions")
        if parts.scheme == "https":
            return v
        if parts.scheme == "http" and _is_loopback(parts.hostname):
            return v  # local test receivers only; records never leave the machine in clear text
        raise ValueError("url must be https:// (plain http is allowed only to a loopback address)")


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OutboxConfig(Section):
    retry_interval_s: float = Field(
        5.0, gt=0, le=3600, description="Retry undelivered records this often (s)"
    )
    max_retry_interval_s: float = Field(
        300.0, gt=0, le=86400, description="Back-off cap for a record that keeps failing (s)"
    )
    batch_size: int = Field(50, ge=1, le=10000, description="Records sent per delivery pass")
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
    kiosk_id: str = Field(
        "kiosk-dev",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="This kiosk's id (letters, digits, . _ -); also the MQTT client id and topic part",
    )
    data_dir: str = Field(
        "var",
        min_length=1,
        description="Writable data directory (audit log, outbox, keys); relative to the working directory",
    )
    audit_db_file: str = Field(
        "audit.sqlite", min_length=1, description="Audit log + outbox SQLite file, relative to data_dir"
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

    @model_validator(mode="after")
    def _evidence_consistent(self) -> RecordsConfig:
        if self.retention == "evidence" and not self.evidence.enabled:
            raise ValueError("retention: evidence needs evidence.enabled: true (and a ttl_h)")
        if self.evidence.enabled and self.retention != "evidence":
            raise ValueError("evidence.enabled: true needs retention: evidence (the default keeps nothing)")
        return self
