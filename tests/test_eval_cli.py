"""``eval-pairs`` and ``calibrate`` on a small LFW subset with the shipped models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.cli import main


@pytest.fixture(scope="module")
def lfw(data_dir: Path) -> tuple[Path, Path]:
    from kiosk.errors import KioskError
    from kiosk.models import verified_model_path

    try:
        verified_model_path("face_embedder_int8")
    except KioskError as exc:
        pytest.skip(f"face embedder model not available: {exc}")
    d = data_dir / "lfw_devtrain"
    return d / "pairsDevTrain.txt", d / "images"


def test_eval_pairs_subset_json(lfw: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    pairs, images = lfw
    code = main(["eval-pairs", str(pairs), "--images", str(images), "--head", "30", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    for key in ("accuracy", "auc", "tar_at_fmr_1e-2", "tar_at_fmr_1e-3", "tar_at_fmr_1e-4", "fte"):
        assert key in doc
    assert doc["n_listed_pairs"] == 60
    assert 0.85 <= doc["accuracy"] <= 1.0
    assert doc["auc"] > 0.97
    assert doc["fte"] <= 3 and len(doc["fte_images"]) == doc["fte"]
    assert doc["tar_at_fmr_1e-2"] is not None and doc["tar_at_fmr_1e-2"] > 0.8
    # 30 matched + 30 mismatched pairs use ~100 images: ~5000 impostor pairs cannot resolve 1e-4
    assert doc["tar_at_fmr_1e-4"] is None


def test_eval_pairs_bad_input_exit_2(tmp_path: Path, lfw: tuple[Path, Path]) -> None:
    pairs, images = lfw
    assert main(["eval-pairs", str(pairs), "--images", str(tmp_path / "none")]) == 2
    bad = tmp_path / "pairs.txt"
    bad.write_text("A 1 2 3 4 5\n")
    assert main(["eval-pairs", str(bad), "--images", str(images)]) == 2


def test_calibrate_writes_only_its_key(
    lfw: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kiosk.paths import models_dir

    src = models_dir()
    for f in src.iterdir():
        if f.is_file() and f.name != "manifest.json":
            (tmp_path / f.name).symlink_to(f)
    before = json.loads((src / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps(before))
    monkeypatch.setenv("EKYC_MODELS_DIR", str(tmp_path))
    pairs, images = lfw
    args = ["calibrate", str(pairs), "--images", str(images), "--head", "25", "--fmr", "1e-2"]
    code = main([*args, "--bootstrap", "50", "--seed", "3", "--json", "--write"])
    assert code == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["key"] == "fmr_1e-2" and rec["model"] == "int8"
    assert 0.3 < rec["threshold"] < 0.8
    lo, hi = rec["ci"]
    assert lo <= rec["threshold"] <= hi
    assert rec["fmr_achieved"] <= 1e-2 and rec["n_impostor"] > 1000 and rec["n_genuine"] >= 20
    assert 0.0 < rec["tar"] <= 1.0 and "pairsDevTrain" in rec["data"]
    after = json.loads((tmp_path / "manifest.json").read_text())
    written = after["face_embedder"]["thresholds"]["calibrated"]["int8"]["fmr_1e-2"]
    assert written["threshold"] == rec["threshold"] and written["ci"] == rec["ci"]
    # everything else is untouched
    assert after["models"] == before["models"]
    cal_before = before.get("face_embedder", {}).get("thresholds", {}).get("calibrated", {})
    for variant, table in cal_before.items():
        for key, value in table.items():
            if (variant, key) != ("int8", "fmr_1e-2"):
                assert after["face_embedder"]["thresholds"]["calibrated"][variant][key] == value
    # the kiosk reads it back
    from kiosk.config.face import MatchConfig
    from kiosk.perception.match import resolve_threshold

    thr, _, src_name = resolve_threshold(MatchConfig.model_validate({"fmr_target": 0.01}))
    assert thr == rec["threshold"] and src_name == "manifest:int8:fmr_1e-2"


def test_calibrate_refuses_an_unresolvable_fmr(lfw: tuple[Path, Path]) -> None:
    pairs, images = lfw
    code = main(["calibrate", str(pairs), "--images", str(images), "--head", "5", "--fmr", "1e-4", "--json"])
    assert code == 2


@pytest.mark.slow
def test_full_devtrain_int8(lfw: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """The full View 1 DevTrain run (about 5 minutes): int8 within the documented accuracy."""
    pairs, images = lfw
    assert main(["eval-pairs", str(pairs), "--images", str(images), "--model", "int8", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["accuracy"] >= 0.98
    assert doc["auc"] >= 0.99
    assert doc["fte"] <= 10
