"""Whole kiosk sessions through the real models on real footage: the virtual applicant (``actor:``)
answers the kiosk's prompts with labelled segments of real clips; the app runs headless and fast."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kiosk.config import parse_config_text

REPO = Path(__file__).resolve().parent.parent
SCEN = REPO / "config" / "scenarios"


def make_cfg(tmp: Path, extra: str = "") -> Any:
    text = f"""
display: {{fullscreen: false, width_px: 800, height_px: 480}}
liveness: {{challenges: [smile, turn_left, turn_right, nod], count: 3}}
session: {{result_display_s: 1, lockout_after_failures: 10}}
records: {{kiosk_id: kiosk-e2e, data_dir: "{tmp / "data"}"}}
{extra}
"""
    return parse_config_text(text, "e2e.yaml")


def id_image_of(scenario: Path, out: Path) -> Path:
    """The scenario's ID image (a simulated card built from the clip), written for the upload path."""
    import cv2

    from kiosk.camera.factory import find_actor, open_source
    from kiosk.clock import FakeClock

    src = open_source(f"actor:{scenario}?realtime=0", clock=FakeClock())
    try:
        actor = find_actor(src)
        assert actor is not None
        img = actor.id_image()
    finally:
        src.close()
    path = out / "id_card.png"
    cv2.imwrite(str(path), np.ascontiguousarray(img[:, :, ::-1]))
    return path


def run_app(cfg: Any, tmp: Path, source: str, *, id_image: Path | None, sessions: int = 1, seed: int = 7):
    from kiosk.app import KioskApp, RunOptions

    opts = RunOptions(
        source=source,
        id_image=id_image,
        headless=True,
        events_path=str(tmp / "events.jsonl"),
        screenshots_dir=tmp / "shots",
        sessions=sessions,
        seed=seed,
        realtime=False,
        max_wall_s=240,
    )
    app = KioskApp(cfg, opts)
    try:
        app.build()
        app.run()
    finally:
        app.close()
    return app


@pytest.fixture()
def krzysiek(data_dir: Path) -> Path:
    return SCEN / "krzysiek.yaml"


def test_bona_fide_applicant_is_approved_and_leaves_no_biometrics(
    data_dir: Path, krzysiek: Path, tmp_path: Path, monkeypatch
) -> None:
    from kiosk.records.privacy import embedding_needles, scan_for_biometrics
    from kiosk.records.store import verify_db
    from kiosk.verifier import FaceVerifier

    seen: list[np.ndarray] = []
    real_embed = FaceVerifier.embed_face

    def spy(self, rgb, face):  # the real embedder runs; the test keeps a copy to search the disk for
        e = real_embed(self, rgb, face)
        seen.append(np.array(e, copy=True))
        return e

    monkeypatch.setattr(FaceVerifier, "embed_face", spy)
    # Everything the process puts in the temp dir lands here, so the scan sees only this session's files.
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    upload = tmp_path / "upload"
    upload.mkdir()
    id_img = id_image_of(krzysiek, upload)
    cfg = make_cfg(tmp_path)
    started = time.time()
    app = run_app(cfg, tmp_path, f"actor:{krzysiek}", id_image=id_img)
    (rec,) = app.records
    assert rec["decision"] == "approved", rec["reasons"]
    assert rec["match"]["matched"] and rec["match"]["distance"] < rec["match"]["threshold"]
    outcomes = rec["liveness"]["outcomes"]
    assert len(outcomes) == 3 and all(o["passed"] for o in outcomes)
    # re-matched several times inside the challenge window, every sample a match
    samples = rec["match"]["samples"]
    assert len(samples) >= cfg.liveness.continuity.min_reembed_samples and all(s["matched"] for s in samples)
    first_prompt = outcomes[0]["prompt_s"]
    assert all(s["t"] >= first_prompt for s in samples)
    # record: no images or templates; models and config identified
    assert set(rec["models"]) == {"face_landmarker", "face_embedder_int8"}
    assert len(rec["config_sha256"]) == 64
    # the event log has one JSON line per event and ends with the decision
    lines = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert lines[-1]["event"] == "decision" and lines[-1]["decision"] == "approved"
    shots = sorted(p.name for p in (tmp_path / "shots").glob("*.png"))
    assert shots[0].endswith("attract.png") and shots[-1].endswith("result.png")
    # the audit log verifies
    report = verify_db(tmp_path / "data" / cfg.records.audit_db_file)
    assert report.ok, report.as_dict()
    # privacy: nothing biometric left in the data dir or the temp dir (the test's own upload excluded)
    id_img.unlink()
    needles = [n for e in seen for n in embedding_needles(e)]
    assert Path(tempfile.gettempdir()) == private_tmp
    findings = scan_for_biometrics([tmp_path / "data", private_tmp], needles, newer_than=started - 1)
    assert not findings, findings


@pytest.mark.parametrize(
    ("scenario", "expected_reason"),
    [
        ("krzysiek_wrong_turn.yaml", None),
        ("krzysiek_second_person.yaml", "second_face"),
        ("print_attack.yaml", None),
    ],
)
def test_attacks_and_wrong_answers_are_rejected(
    data_dir: Path, tmp_path: Path, scenario: str, expected_reason: str | None
) -> None:
    upload = tmp_path / "upload"
    upload.mkdir()
    id_img = id_image_of(SCEN / scenario, upload)
    cfg = make_cfg(
        tmp_path,
        "liveness: {challenges: [turn_left, turn_right, nod], count: 3}"
        if scenario == "krzysiek_second_person.yaml"
        else "",
    )
    app = run_app(cfg, tmp_path, f"actor:{SCEN / scenario}", id_image=id_img)
    (rec,) = app.records
    assert rec["decision"] == "rejected", rec
    if expected_reason:
        assert expected_reason in rec["reasons"], rec["reasons"]


def test_camera_lost_mid_session_aborts_then_the_kiosk_recovers(data_dir: Path, tmp_path: Path) -> None:
    scenario = SCEN / "krzysiek_camera_drop.yaml"
    upload = tmp_path / "upload"
    upload.mkdir()
    id_img = id_image_of(scenario, upload)
    cfg = make_cfg(tmp_path)
    app = run_app(cfg, tmp_path, f"actor:{scenario}", id_image=id_img, sessions=2)
    decisions = [(r["decision"], r["reasons"]) for r in app.records]
    assert any(d == "aborted" and "camera_lost" in r for d, r in decisions), decisions
    lines = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    states = [x["state"] for x in lines if x["event"] == "state"]
    lost_at = next(i for i, r in enumerate(app.records) if "camera_lost" in r["reasons"])
    assert states.count("attract") >= 1 and len(app.records) == 2
    assert app.records[lost_at + 1 :] or lost_at == 1  # a session ran after the camera came back


def test_shipped_photo_applicant_is_rejected_without_any_data(tmp_path: Path, monkeypatch) -> None:
    """The demo that runs on a machine without ../shared/data: a photo must not pass liveness."""
    monkeypatch.setenv("EKYC_DATA_DIR", str(tmp_path / "no-data"))
    cfg = make_cfg(tmp_path, "")
    cfg = cfg.model_copy(
        update={
            "liveness": cfg.liveness.model_copy(
                update={"challenges": ["blink", "smile", "turn_left", "turn_right", "nod", "mouth_open"]}
            )
        }
    )
    app = run_app(cfg, tmp_path, "actor:astronaut", id_image=None)
    (rec,) = app.records
    assert rec["decision"] in ("rejected", "aborted"), rec
    assert rec["decision"] == "rejected", f"the photo should reach liveness and fail there: {rec['reasons']}"
    # the smiling photo never gives a neutral baseline, and the record says why
    assert rec["reasons"] == ["baseline_timeout"], rec["reasons"]
    assert rec["liveness"]["baseline_problem"] == "expression", rec["liveness"]


def test_live_pace_session_with_camera_auto_capture(data_dir: Path, krzysiek: Path, tmp_path: Path) -> None:
    """As on the appliance: frames paced in real time, landmarks on the perception thread, embeddings on
    the worker, and the ID card held up to the camera and auto-captured (no upload)."""
    from kiosk.app import KioskApp, RunOptions

    cfg = make_cfg(tmp_path)
    opts = RunOptions(
        source=f"actor:{krzysiek}",
        headless=True,
        sessions=1,
        seed=11,
        realtime=True,
        events_path=str(tmp_path / "events.jsonl"),
        max_wall_s=120,
    )
    app = KioskApp(cfg, opts)
    try:
        app.build()
        assert app.pump is not None and app.pump.threaded
        app.run()
    finally:
        app.close()
    (rec,) = app.records
    assert rec["document"]["source"] == "camera"
    assert rec["decision"] == "approved", rec["reasons"]
