"""The systemd unit (systemd-analyze verify, required directives) and scripts/install.sh (syntax,
shellcheck, platform detection, dry run, the config it writes)."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "systemd" / "ekyc-kiosk.service"
INSTALL = REPO / "scripts" / "install.sh"


def _unit_directives() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        k, _, v = line.partition("=")
        out.setdefault(k, []).append(v)
    return out


def test_unit_has_the_appliance_directives() -> None:
    d = _unit_directives()
    assert d["Type"] == ["notify"]
    assert d["WatchdogSec"] and d["Restart"] == ["on-failure"]
    assert d["StartLimitBurst"] and d["StartLimitIntervalSec"]
    assert d["User"] == ["ekyc"] and "video" in d["SupplementaryGroups"][0]
    for k in ("ProtectSystem", "PrivateTmp", "NoNewPrivileges", "DevicePolicy", "RestrictAddressFamilies"):
        assert k in d, k
    assert d["ProtectSystem"] == ["strict"] and d["DevicePolicy"] == ["closed"]
    assert d["ReadWritePaths"] == ["/var/lib/ekyc-kiosk"]
    allowed = " ".join(d["DeviceAllow"])
    for dev in ("char-video4linux", "char-media", "char-dma_heap", "char-drm", "char-input"):
        assert dev in allowed, dev
    assert set(d["RestrictAddressFamilies"][0].split()) <= {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}
    assert d["LimitCORE"] == ["0"]  # a core dump would hold face images
    assert "kill -HUP" in d["ExecReload"][0]


def test_unit_parses_as_ini() -> None:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read_string(UNIT.read_text())
    assert {"Unit", "Service", "Install"} <= set(cp.sections())


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    # verify checks that ExecStart exists: point it at this checkout's entry point.
    cli = Path(sys.executable).with_name("ekyc-kiosk")
    if not cli.exists():
        pytest.skip(f"{cli} missing: install the package (pip install -e .) first")
    unit = tmp_path / "ekyc-kiosk.service"
    unit.write_text(UNIT.read_text().replace("/opt/ekyc-kiosk/venv/bin/ekyc-kiosk", str(cli)))
    out = subprocess.run([exe, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    problems = [ln for ln in (out.stdout + out.stderr).splitlines() if "ekyc-kiosk.service" in ln]
    assert out.returncode == 0 and not problems, out.stdout + out.stderr


def test_install_script_syntax_and_shellcheck() -> None:
    subprocess.run(["bash", "-n", str(INSTALL)], check=True, timeout=30)
    sc = shutil.which("shellcheck")
    if sc is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck); bash -n passed")
    out = subprocess.run([sc, "-x", str(INSTALL)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def _dry(*args: str, env: dict[str, str] | None = None) -> str:
    e = dict(os.environ)
    e.update(env or {})
    out = subprocess.run(
        ["bash", str(INSTALL), "--dry-run", *args], capture_output=True, text=True, timeout=60, env=e
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_platform_detection_from_device_tree_and_tegra_release(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\0")
    absent = str(tmp_path / "absent")
    out = _dry(env={"EKYC_DT_MODEL_FILE": str(model), "EKYC_TEGRA_RELEASE_FILE": absent})
    assert "platform: pi" in out and "python3-picamera2" in out
    tegra = tmp_path / "nv_tegra_release"
    tegra.write_text("# R36 (release), REVISION: 3.0\n")
    out = _dry(env={"EKYC_DT_MODEL_FILE": absent, "EKYC_TEGRA_RELEASE_FILE": str(tegra)})
    assert "platform: jetson" in out and "python3-opencv" in out
    assert "uninstall -y opencv-contrib-python" in out  # the system cv2 (GStreamer) must win
    assert "20-jetson.conf" in out
    out = _dry(env={"EKYC_DT_MODEL_FILE": absent, "EKYC_TEGRA_RELEASE_FILE": absent})
    assert "platform: generic" in out


def test_system_dry_run_prints_every_step() -> None:
    out = _dry("--platform", "pi", "--kiosk-id", "kiosk-7")
    assert "DRY RUN" in out
    for needle in (
        "--system-site-packages",
        "useradd --system",
        "usermod -a -G video,render,input ekyc",
        "/etc/ekyc-kiosk/config.yaml",
        "install -d -m 0700 -o ekyc -g ekyc /var/lib/ekyc-kiosk",
        "audit keygen --config /etc/ekyc-kiosk/config.yaml",
        "systemctl enable ekyc-kiosk.service",
        "doctor",
    ):
        assert needle in out, needle
    assert out.count("==> [") >= 8


def test_laptop_dry_run_has_no_service(tmp_path: Path) -> None:
    out = _dry("--laptop", env={"HOME": str(tmp_path), "XDG_DATA_HOME": "", "XDG_CONFIG_HOME": ""})
    assert "python3 -m venv" in out and "audit keygen" in out
    assert "systemctl" not in out and "useradd" not in out
    assert not (tmp_path / ".local").exists()  # dry run changed nothing


def test_installed_config_is_valid_and_points_at_var_lib(tmp_path: Path) -> None:
    from kiosk.config import load_config

    out = subprocess.run(
        ["bash", str(INSTALL), "--print-config", "--kiosk-id", "branch-12.k3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    p = tmp_path / "config.yaml"
    p.write_text(out.stdout)
    cfg = load_config(p)
    assert cfg.records.data_dir == "/var/lib/ekyc-kiosk"
    assert cfg.records.kiosk_id == "branch-12.k3"


def test_bad_kiosk_id_is_refused() -> None:
    out = subprocess.run(
        ["bash", str(INSTALL), "--dry-run", "--kiosk-id", "a b|c"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and "kiosk-id" in out.stderr
