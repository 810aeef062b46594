"""``ekyc-kiosk document``: exit codes and output, run as a subprocess like an operator would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "document", *args], capture_output=True, text=True, timeout=180
    )


def _no_traceback(p: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout


def test_document_ok_json_and_saved_portrait(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "portrait.png"
    p = _run(str(data_dir / "id_documents" / "fastmrz" / "td3.jpg"), "--json", "--save-portrait", str(out))
    _no_traceback(p)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert isinstance(d["rectified"], bool)
    x, y, w, h = d["portrait"]["box"]
    assert w > 40 and h > 40
    assert {"face_px", "sharpness", "exposure"} <= set(d["portrait"]["quality"])
    img = cv2.imread(str(out))
    assert img is not None and img.shape[0] > h * 0.9
    assert (out.stat().st_mode & 0o077) == 0  # biometric data: owner only


def test_document_text_output(data_dir: Path) -> None:
    p = _run(str(data_dir / "id_documents" / "passporteye_testdata" / "100_pass-hrv.jpg"))
    _no_traceback(p)
    assert p.returncode == 0
    assert "portrait: box" in p.stdout and "rectified: no" in p.stdout


@pytest.mark.parametrize(
    ("rel", "code"),
    [
        ("face_recognition_examples/multi_face/two_people.jpg", "several_faces"),
        ("misc_faces/no_face/none.jpg", "no_face"),
        ("id_documents/passporteye_testdata/100_id-che.jpg", "no_face"),
        ("face_recognition_examples/video/short_hamilton_clip.mp4", "not_an_image"),
    ],
)
def test_document_refusals(data_dir: Path, rel: str, code: str) -> None:
    p = _run(str(data_dir / rel), "--json")
    _no_traceback(p)
    assert p.returncode == 2
    err = json.loads(p.stdout)["error"]
    assert err["code"] == code and err["message"]


def test_bad_files_exit_2_without_traceback(tmp_path: Path) -> None:
    cases = {
        "empty.jpg": b"",
        "random.jpg": np.random.default_rng(9).bytes(4096),
        "cut.jpg": cv2.imencode(".jpg", np.full((64, 64, 3), 128, np.uint8))[1].tobytes()[:200],
    }
    for name, data in cases.items():
        f = tmp_path / name
        f.write_bytes(data)
        p = _run(str(f), "--json")
        _no_traceback(p)
        assert p.returncode == 2, name
        assert json.loads(p.stdout)["error"]["code"] in {"empty_file", "not_an_image", "truncated_image"}
    p = _run(str(tmp_path / "missing.jpg"))
    _no_traceback(p)
    assert p.returncode == 2 and "refused (file_not_found)" in p.stderr


def test_bad_config_exit_1(tmp_path: Path, data_dir: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("document:\n  portrait:\n    min_face_px: 3\n", encoding="utf-8")
    p = _run(str(data_dir / "id_documents" / "fastmrz" / "td3.jpg"), "--config", str(cfg), "--json")
    _no_traceback(p)
    assert p.returncode == 1
    assert json.loads(p.stdout)["error"]["code"] == "config_invalid"
