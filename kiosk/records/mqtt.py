"""MQTT sink (paho-mqtt 2.x): QoS 1 publish, a record counts as delivered only on the broker's PUBACK.

* Client id: the kiosk id (``records.kiosk_id``), so the broker's ACL can bind a kiosk to its topic.
* Topic: ``records.outbox.mqtt.topic`` with ``{kiosk_id}`` filled in. Not retained.
* TLS when ``tls: true``: server certificate and host name checked against ``ca_file`` (or the system
  store), TLS 1.2 minimum, optional client certificate (mutual TLS). Password read from ``password_file``.
* Clean session; the connection is opened on first use and kept. paho's network thread reconnects in the
  background; while it is down :meth:`MqttSink.deliver` fails fast and the outbox keeps the record.

A message paho already sent before a disconnect may still be delivered after the reconnect, and the
outbox will also send it again: receivers de-duplicate on the ``record_id`` inside every payload.
"""

from __future__ import annotations

import logging
import ssl
import threading
from pathlib import Path
from typing import Any

from kiosk.records.sink import DeliveryError

log = logging.getLogger(__name__)


def _resolve(path: str, base_dir: Path | None) -> Path:
    p = Path(path)
    return base_dir / p if not p.is_absolute() and base_dir is not None else p


def _read_secret(path: str, base_dir: Path | None) -> str:
    p = _resolve(path, base_dir)
    try:
        return p.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise DeliveryError(f"cannot read credential file {p}: {exc.strerror}") from None


class MqttSink:
    """``cfg``: :class:`~kiosk.config.records.MqttConfig`. ``kiosk_id``: client id and topic part."""

    name = "mqtt"

    def __init__(self, cfg: Any, kiosk_id: str, base_dir: Path | None = None) -> None:
        self.cfg = cfg
        self.kiosk_id = kiosk_id
        self.topic = str(cfg.topic).replace("{kiosk_id}", kiosk_id)
        self.base_dir = base_dir
        self._client: Any = None
        self._started = False
        self._connected = threading.Event()
        self._answered = threading.Event()  # any CONNACK, accepted or refused
        self._connect_error = ""
        self._lock = threading.Lock()

    # paho callbacks (network thread) ------------------------------------------------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if getattr(reason_code, "is_failure", False):
            self._connect_error = f"broker refused the connection: {reason_code}"
            log.warning(
                "MQTT broker %s:%d refused the connection: %s", self.cfg.host, self.cfg.port, reason_code
            )
            self._connected.clear()
            self._answered.set()
            return
        self._connect_error = ""
        self._connected.set()
        self._answered.set()
        log.info("MQTT connected to %s:%d as %s", self.cfg.host, self.cfg.port, self.kiosk_id)

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if self._connected.is_set():
            log.warning("MQTT disconnected from %s:%d: %s", self.cfg.host, self.cfg.port, reason_code)
        self._connected.clear()

    # ---------------------------------------------------------------------------------------------------

    def _make_client(self) -> Any:
        import paho.mqtt.client as mqtt

        c = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.kiosk_id,
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )
        if self.cfg.tls:
            ca = str(_resolve(self.cfg.ca_file, self.base_dir)) if self.cfg.ca_file else None
            ctx = ssl.create_default_context(cafile=ca)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            if self.cfg.client_cert_file:
                key = (
                    str(_resolve(self.cfg.client_key_file, self.base_dir))
                    if self.cfg.client_key_file
                    else None
                )
                ctx.load_cert_chain(str(_resolve(self.cfg.client_cert_file, self.base_dir)), key)
            c.tls_set_context(ctx)
        if self.cfg.username:
            password = _read_secret(self.cfg.password_file, self.base_dir) if self.cfg.password_file else None
            c.username_pw_set(self.cfg.username, password)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.reconnect_delay_set(min_delay=1, max_delay=30)
        c.connect_timeout = min(10.0, float(self.cfg.ack_timeout_s))
        return c

    def _ensure_connected(self) -> Any:
        if self._client is None:
            try:
                self._client = self._make_client()
            except (OSError, ssl.SSLError) as exc:
                raise DeliveryError(f"MQTT TLS setup failed: {exc}") from None
        c = self._client
        if not self._started:
            try:
                c.connect(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s)
            except (OSError, ValueError) as exc:
                raise DeliveryError(
                    f"MQTT broker {self.cfg.host}:{self.cfg.port} unreachable: {exc}"
                ) from None
            c.loop_start()
            self._started = True
            # First CONNACK (accepted or refused) within the ack timeout.
            self._answered.wait(float(self.cfg.ack_timeout_s))
        elif not self._connected.is_set():
            # paho's thread is reconnecting: a short wait, then let the outbox back off and retry.
            self._connected.wait(min(1.0, float(self.cfg.ack_timeout_s)))
        if not self._connected.is_set():
            raise DeliveryError(
                self._connect_error
                or f"MQTT broker {self.cfg.host}:{self.cfg.port} not connected (reconnecting)"
            )
        return c

    def deliver(self, record_id: str, payload: bytes) -> None:
        """Publish at QoS 1 and wait up to ``ack_timeout_s`` for PUBACK; raise :class:`DeliveryError` else."""
        with self._lock:
            c = self._ensure_connected()
            try:
                info = c.publish(self.topic, payload, qos=1, retain=False)
                info.wait_for_publish(timeout=float(self.cfg.ack_timeout_s))
            except (RuntimeError, ValueError) as exc:
                raise DeliveryError(f"MQTT publish of record {record_id} failed: {exc}") from None
            if not info.is_published():
                raise DeliveryError(f"no PUBACK for record {record_id} within {self.cfg.ack_timeout_s:g} s")

    def close(self) -> None:
        with self._lock:
            c, self._client = self._client, None
            if c is None:
                return
            try:
                c.disconnect()
            except Exception as exc:
                log.debug("MQTT disconnect: %s", exc)
            if self._started:
                c.loop_stop()
            self._started = False
            self._connected.clear()
            self._answered.clear()
