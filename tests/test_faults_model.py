"""A model whose sha256 differs from the manifest stops the start with a clear message: `ekyc-kiosk
doctor` on a copied models dir (EKYC_MODELS_DIR) with one flipped byte names the model and exits 1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.errors import ModelError
from kiosk.models import load_manifest, verified_model_path
from kiosk.paths import models_dir


def _doctor(tmp_path: Path, models: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"records:\n  data_dir: {tmp_path / 'data'}\n")
    env = dict(os.environ, EKYC_MODELS_DIR=str(models))
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "doctor", "--config", str(cfg), "--skip", "camera,display", *extra],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )


@pytest.fixture
def models_copy(tmp_path: Path) -> Path:
    src = models_dir()
    dst = tmp_path / "models"
    shutil.copytree(src, dst)
    return dst


def test_flipped_byte_fails_doctor_with_a_clear_message(tmp_path: Path, models_copy: Path) -> None:
    manifest = load_manifest(models_copy)["models"]
    name = "face_landmarker" if "face_landmarker" in manifest else sorted(manifest)[0]
    model = models_copy / manifest[name]["file"]

    good = _doctor(tmp_path, models_copy, "--json")
    checks = {c["name"]: c for c in json.loads(good.stdout)["checks"]}
    assert checks["models"]["status"] == "ok", checks["models"]

    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x01
    model.write_bytes(bytes(data))

    bad = _doctor(tmp_path, models_copy)
    assert bad.returncode == 1
    line = next(ln for ln in bad.stdout.splitlines() if ln.split()[1:2] == ["models"])
    assert line.startswith("FAIL") and name in line and "failed its integrity check" in line
    assert "refusing to start" in line
    assert "Traceback" not in bad.stdout + bad.stderr

    # The same check is what the app runs before loading any model.
    with pytest.raises(ModelError) as ei:
        verified_model_path(name, models_copy)
    assert ei.value.code == "model_tampered"


def test_missing_model_file_is_named(tmp_path: Path, models_copy: Path) -> None:
    manifest = load_manifest(models_copy)["models"]
    name = sorted(manifest)[0]
    (models_copy / manifest[name]["file"]).unlink()
    out = _doctor(tmp_path, models_copy, "--json")
    assert out.returncode == 1
    checks = {c["name"]: c for c in json.loads(out.stdout)["checks"]}
    assert checks["models"]["status"] == "fail" and "missing" in checks["models"]["detail"]
