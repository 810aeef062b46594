"""Integrity of the committed face-embedder models: sha256 refusal, manifest fields, input spec."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kiosk.errors import InputError, ModelError
from kiosk.models import load_manifest, sha256_file
from kiosk.perception.embedder import EmbedderVariant, FaceEmbedder, parse_variant

VARIANTS = ("fp32", "fp16", "int8")


@pytest.fixture(scope="module")
def manifest(repo_dir: Path) -> dict:  # type: ignore[type-arg]
    return load_manifest(repo_dir / "models")


def _copy_models(src: Path, dst: Path, variant: str) -> None:
    m = json.loads((src / "manifest.json").read_text())
    entry = m["models"][f"face_embedder_{variant}"]
    shutil.copy(src / entry["file"], dst / entry["file"])
    (dst / "manifest.json").write_text(json.dumps(m))


def test_tampered_model_refuses_to_load(repo_dir: Path, tmp_path: Path) -> None:
    _copy_models(repo_dir / "models", tmp_path, "int8")
    # the untouched copy loads and embeds
    with FaceEmbedder("int8", num_threads=1, models_directory=tmp_path) as emb:
        assert emb.embed(np.zeros((150, 150, 3), np.uint8)).shape == (1, 128)
    path = tmp_path / "face_embedder_int8.tflite"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit in the middle of the weights
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError) as err:
        FaceEmbedder("int8", num_threads=1, models_directory=tmp_path)
    assert err.value.code == "model_tampered"


def test_truncated_or_missing_model_refuses(repo_dir: Path, tmp_path: Path) -> None:
    _copy_models(repo_dir / "models", tmp_path, "fp16")
    path = tmp_path / "face_embedder_fp16.tflite"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelError):
        FaceEmbedder("fp16", models_directory=tmp_path)
    path.unlink()
    with pytest.raises(ModelError, match="missing"):
        FaceEmbedder("fp16", models_directory=tmp_path)


def test_variant_names() -> None:
    assert parse_variant("INT8") is EmbedderVariant.INT8
    assert EmbedderVariant.FP16.model_name == "face_embedder_fp16"
    with pytest.raises(ModelError, match="valid: int8, fp16, fp32"):
        parse_variant("int4")
    with pytest.raises(ModelError):
        FaceEmbedder("int8", num_threads=0)


def test_bad_chips_are_input_errors() -> None:
    with FaceEmbedder("int8", num_threads=1) as emb:
        with pytest.raises(InputError, match="150"):
            emb.embed(np.zeros((112, 112, 3), np.uint8))
        with pytest.raises(InputError, match="uint8"):
            emb.embed(np.zeros((150, 150, 3), np.float32))
        assert emb.embed([]).shape == (0, 128)


def test_manifest_entries(manifest: dict, repo_dir: Path) -> None:  # type: ignore[type-arg]
    models = manifest["models"]
    assert "face_landmarker" in models
    for v in VARIANTS:
        e = models[f"face_embedder_{v}"]
        path = repo_dir / "models" / e["file"]
        assert path.is_file()
        assert e["sha256"] == sha256_file(path)
        assert e["bytes"] == path.stat().st_size
        assert e["variant"] == v and e["kind"] == "tflite"
        assert path.stat().st_size < 30 * 1024 * 1024


def test_meta_table(manifest: dict) -> None:  # type: ignore[type-arg]
    meta = manifest["face_embedder"]
    for key in (
        "name",
        "version",
        "source",
        "license",
        "input",
        "output",
        "thresholds",
        "calibration_data",
        "parity",
        "accuracy",
        "build",
    ):
        assert meta[key], key
    assert "CC0" in meta["license"]
    assert meta["thresholds"]["dlib_default"] == 0.6
    assert isinstance(meta["thresholds"]["calibrated"], dict)
    assert meta["output"]["shape"] == [1, 128] and meta["output"]["normalised"] is False
    chip = meta["input"]["chip"]
    assert chip["size_px"] == 150 and chip["padding"] == 0.25
    assert meta["input"]["channel_order"] == "RGB"
    assert np.allclose(meta["input"]["normalisation"]["mean_rgb"], [122.782, 117.001, 104.298], atol=1e-3)
    assert meta["calibration_data"]["disjoint_from_parity"] is True
    assert meta["calibration_data"]["chips"] >= 200
    par = meta["parity"]
    assert par["chips"] >= 200
    for v in VARIANTS:
        assert par["by_variant"][v]["meets_targets"] is True
    assert par["by_variant"]["fp32"]["cosine_to_dlib"]["mean"] >= 0.99999
    assert par["by_variant"]["int8"]["cosine_to_dlib"]["mean"] >= 0.999
    assert par["by_variant"]["int8"]["cosine_to_dlib"]["min"] >= 0.995


@pytest.mark.parametrize("variant", VARIANTS)
def test_input_spec_matches_model(manifest: dict, variant: str) -> None:  # type: ignore[type-arg]
    """The manifest's input spec is what the interpreter reports, and raw pixels go in."""
    spec = manifest["models"][f"face_embedder_{variant}"]["input"]
    with FaceEmbedder(variant, num_threads=1) as emb:
        info = emb.info
        assert spec["shape"] == [1, 150, 150, 3]
        assert spec["dtype"] == info.input_dtype == manifest["face_embedder"]["input"]["dtype"][variant]
        if spec["quantization"] is None:
            assert info.input_dtype == "float32"
        else:
            assert spec["quantization"] == {"scale": info.input_scale, "zero_point": info.input_zero_point}
        # int8 takes raw uint8 pixels (scale 1, zero point 0): normalisation is inside the model
        if variant == "int8":
            assert (info.input_dtype, info.input_scale, info.input_zero_point) == ("uint8", 1.0, 0)
            assert manifest["face_embedder"]["input"]["int8_input_quantization"] == spec["quantization"]
