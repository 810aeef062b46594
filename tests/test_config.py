"""Config: the committed default matches the schema, and every error names the key path and YAML line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from kiosk.config import ConfigValidationError, load_config, parse_config_text


def test_default_yaml_is_valid_and_generated_from_the_schema(repo_dir: Path) -> None:
    sys.path.insert(0, str(repo_dir / "scripts"))
    import gen_default_config

    text = (repo_dir / "config" / "default.yaml").read_text("utf-8")
    assert text == gen_default_config.render(), "run: python scripts/gen_default_config.py"
    load_config(repo_dir / "config" / "default.yaml")


def _walk(model: type[BaseModel], path: str = ""):
    for name, field in model.model_fields.items():
        yield f"{path}{name}", field
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from _walk(ann, f"{path}{name}.")


def test_every_field_has_a_default_and_a_description() -> None:
    from kiosk.config.schema import KioskConfig

    KioskConfig()  # every field has a default

    def is_section(f) -> bool:
        return isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)

    missing = [
        p for p, f in _walk(KioskConfig) if not f.description and not p.endswith("type") and not is_section(f)
    ]
    assert not missing, f"fields without description: {missing}"
    assert KioskConfig.model_config.get("extra") == "forbid"


@pytest.mark.parametrize(
    ("yaml_text", "path", "line"),
    [
        ("language: en\nface:\n  match:\n    threshhold: 0.5\n", "face.match.threshhold", 4),
        ("session:\n  retries: 9\n", "session.retries", 2),
        ("liveness:\n  blink_count_min: 1\n", "liveness.blink_count_min", 2),
        ("camera:\n  type: file\n  paht: x.mp4\n", "camera.paht", 3),
        ("camera:\n  type: webcam\n", "camera", 1),
        ("display:\n  fullscreen: maybe\n", "display.fullscreen", 2),
        ("liveness:\n  challenges: [blink, wink]\n", "liveness.challenges.1", 2),
        ("records:\n  outbox:\n    mqtt:\n      port: 70000\n", "records.outbox.mqtt.port", 4),
    ],
)
def test_errors_name_key_and_line(yaml_text: str, path: str, line: int) -> None:
    with pytest.raises(ConfigValidationError) as err:
        parse_config_text(yaml_text, "test.yaml")
    issues = {(i.path, i.line) for i in err.value.issues}
    assert (path, line) in issues, err.value.issues
    assert f"line {line}: {path}" in str(err.value)


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(ConfigValidationError) as err:
        parse_config_text("language: en\ndisplay:\n  fps: [30\n", "bad.yaml")
    assert err.value.issues[0].line is not None and "YAML syntax" in str(err.value)


def test_cross_field_rule_reported() -> None:
    with pytest.raises(ConfigValidationError) as err:
        parse_config_text("liveness:\n  count: 3\n  challenges: [blink, smile]\n")
    assert "count must not exceed" in str(err.value)
    assert err.value.issues[0].line == 1


def test_validate_config_cli_exit_codes(tmp_path: Path, repo_dir: Path) -> None:
    good = repo_dir / "config" / "default.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text("language: en\nsession:\n  lockout_s: -5\n", "utf-8")
    cmd = [sys.executable, "-m", "kiosk", "validate-config"]
    ok = subprocess.run([*cmd, str(good)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    ko = subprocess.run([*cmd, str(bad)], capture_output=True, text=True, check=False)
    assert ko.returncode == 1
    assert "line 3: session.lockout_s" in ko.stderr and "Traceback" not in ko.stderr
    missing = subprocess.run([*cmd, str(tmp_path / "nope.yaml")], capture_output=True, text=True, check=False)
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def test_validate_config_does_not_import_heavy_libraries(repo_dir: Path) -> None:
    code = (
        "import sys; from kiosk.cli import main; main(['validate-config', sys.argv[1]]);"
        "print(sorted(m for m in ('cv2','mediapipe','pygame','ai_edge_litert') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(repo_dir / "config" / "default.yaml")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
