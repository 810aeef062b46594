"""MQTT over TLS with a user name and password file, against a real Mosquitto with a test CA made here:
the certificate is checked against ca_file, the wrong CA is refused, the password comes from a file."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from appliance_helpers import free_port, mosquitto_binary, new_log, sample_record, wait_port

from kiosk.clock import FakeClock
from kiosk.config.records import MqttConfig
from kiosk.records.mqtt import MqttSink
from kiosk.records.outbox import Outbox


def _ca_and_server(d: Path, name: str) -> tuple[Path, Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem, cert_pem, key_pem = d / f"{name}-ca.pem", d / f"{name}-server.pem", d / f"{name}-server.key"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_pem, cert_pem, key_pem


@pytest.fixture
def tls_broker(tmp_path: Path):
    exe = mosquitto_binary()
    passwd_tool = shutil.which("mosquitto_passwd")
    if passwd_tool is None:
        pytest.skip("mosquitto_passwd is missing (part of the mosquitto package)")
    d = tmp_path / "broker"
    d.mkdir()
    d.chmod(0o755)  # mosquitto may drop to its own user after start
    ca, cert, key = _ca_and_server(d, "good")
    for p in (ca, cert, key):
        p.chmod(0o644)
    passwd = d / "passwd"
    subprocess.run(
        [passwd_tool, "-c", "-b", str(passwd), "kiosk-tls", "s3cret-pass"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    passwd.chmod(0o644)
    port = free_port()
    conf = d / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
        f"allow_anonymous false\npassword_file {passwd}\npersistence false\n"
        # Started as root, mosquitto would switch to its own user and lose access to the test files.
        + ("user root\n" if os.geteuid() == 0 else "")
    )
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not wait_port(port, proc=proc):
            proc.terminate()
            _, err = proc.communicate(timeout=5)
            pytest.fail(f"TLS mosquitto did not start: {err.decode(errors='replace')}")
        yield port, ca, tmp_path
    finally:
        proc.terminate()
        proc.wait(10)


def _cfg(port: int, ca: Path, pw: Path) -> MqttConfig:
    return MqttConfig.model_validate(
        {
            "enabled": True,
            "host": "localhost",
            "port": port,
            "tls": True,
            "ca_file": str(ca),
            "username": "kiosk-tls",
            "password_file": str(pw),
            "ack_timeout_s": 5,
        }
    )


def test_tls_with_password_file_delivers(tls_broker) -> None:
    port, ca, tmp = tls_broker
    pw = tmp / "mqtt.password"
    pw.write_text("s3cret-pass\n")
    key, log = new_log(tmp / "rec", sinks=("mqtt",), kiosk_id="kiosk-tls")
    outbox = Outbox(
        tmp / "rec" / "audit.sqlite", {"mqtt": MqttSink(_cfg(port, ca, pw), "kiosk-tls")}, clock=FakeClock()
    )
    try:
        s = log.append(sample_record(1, kiosk_id="kiosk-tls"))
        rep = outbox.deliver_pending()
        assert rep.delivered == [("mqtt", s.record_id)], rep.failed
    finally:
        outbox.close()
        log.close()


def test_wrong_ca_or_password_keeps_the_record(tls_broker) -> None:
    port, ca, tmp = tls_broker
    other_ca, _, _ = _ca_and_server(tmp, "other")
    pw = tmp / "mqtt.password"
    pw.write_text("s3cret-pass\n")
    bad_pw = tmp / "bad.password"
    bad_pw.write_text("wrong\n")
    key, log = new_log(tmp / "rec", sinks=("mqtt",), kiosk_id="kiosk-tls")
    s = log.append(sample_record(1, kiosk_id="kiosk-tls"))
    for cfg, expect in ((_cfg(port, other_ca, pw), "certificate"), (_cfg(port, ca, bad_pw), "refused")):
        outbox = Outbox(tmp / "rec" / "audit.sqlite", {"mqtt": MqttSink(cfg, "kiosk-tls")}, clock=FakeClock())
        try:
            rep = outbox.deliver_pending()
            assert not rep.delivered and expect in json.dumps(rep.failed).lower(), rep.failed
            assert outbox.pending() == 1
        finally:
            outbox.close()
    assert s.record_id
    log.close()
