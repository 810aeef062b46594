"""``ekyc-kiosk verify``: exit codes 0/1/2 and JSON on real images, with the shipped models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.cli import main


@pytest.fixture(scope="module")
def embedder_ready() -> None:
    from kiosk.errors import KioskError
    from kiosk.models import verified_model_path

    try:
        verified_model_path("face_embedder_int8")
    except KioskError as exc:
        pytest.skip(f"face embedder model not available: {exc}")


def _verify(capsys: pytest.CaptureFixture[str], id_img: Path, selfie: Path, *extra: str) -> tuple[int, dict]:
    code = main(["verify", str(id_img), str(selfie), "--json", *extra])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    doc = json.loads(out[0])
    assert doc["exit_code"] == code
    return code, doc


def _ids(data_dir: Path) -> Path:
    return data_dir / "face_recognition_examples" / "identities"


@pytest.mark.usefixtures("embedder_ready")
def test_same_person_matches(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    obama = _ids(data_dir) / "barack_obama"
    code, doc = _verify(capsys, obama / "obama.jpg", obama / "obama2.jpg")
    assert code == 0 and doc["match"] is True
    assert doc["score"] <= doc["threshold"]
    assert doc["fmr_target"] == pytest.approx(1e-3)
    assert doc["model"] == "int8" and doc["score_kind"] == "euclidean_distance"
    for role in ("id", "selfie"):
        face = doc["faces"][role]
        assert len(face["box"]) == 4 and face["quality"]["face_px"] > 100
        assert {"sharpness", "brightness"} <= set(face["quality"])


@pytest.mark.usefixtures("embedder_ready")
def test_different_people_do_not_match(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _verify(
        capsys, _ids(data_dir) / "barack_obama" / "obama.jpg", _ids(data_dir) / "joe_biden" / "biden.jpg"
    )
    assert code == 1 and doc["match"] is False
    assert doc["score"] > doc["threshold"]


@pytest.mark.usefixtures("embedder_ready")
def test_no_face_is_unusable(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _verify(
        capsys,
        _ids(data_dir) / "barack_obama" / "obama.jpg",
        data_dir / "misc_faces" / "no_face" / "none.jpg",
    )
    assert code == 2 and doc["match"] is None
    assert doc["error"]["code"] == "no_face" and doc["error"]["image"] == "selfie"
    assert "id" in doc["faces"]  # the ID side was fine and is reported


@pytest.mark.usefixtures("embedder_ready")
def test_several_faces_is_unusable(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    two = data_dir / "face_recognition_examples" / "multi_face" / "two_people.jpg"
    code, doc = _verify(capsys, _ids(data_dir) / "barack_obama" / "obama.jpg", two)
    assert code == 2 and doc["error"]["code"] == "several_faces" and doc["error"]["image"] == "selfie"
    code, doc = _verify(capsys, two, _ids(data_dir) / "barack_obama" / "obama.jpg")
    assert code == 2 and doc["error"]["code"] == "several_faces" and doc["error"]["image"] == "id"


@pytest.mark.usefixtures("embedder_ready")
def test_random_bytes_and_missing_file_are_unusable(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    junk = tmp_path / "junk.jpg"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    selfie = _ids(data_dir) / "barack_obama" / "obama2.jpg"
    code, doc = _verify(capsys, junk, selfie)
    assert code == 2 and doc["error"]["image"] == "id" and doc["error"]["code"] == "not_an_image"
    code, doc = _verify(capsys, selfie, tmp_path / "nope.jpg")
    assert code == 2 and doc["error"]["image"] == "selfie" and doc["error"]["code"] == "file_not_found"


@pytest.mark.usefixtures("embedder_ready")
def test_text_output_gives_the_reason(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "verify",
            str(_ids(data_dir) / "barack_obama" / "obama.jpg"),
            str(data_dir / "misc_faces" / "no_face" / "none.jpg"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 2
    assert out.startswith("UNUSABLE: selfie") and "no face" in out and "[no_face]" in out


def test_bad_config_is_unusable_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("face:\n  match:\n    threshold: 7\n")
    code = main(["verify", "a.jpg", "b.jpg", "--config", str(cfg), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 2 and doc["error"]["code"] == "config_invalid"
