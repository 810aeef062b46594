#!/usr/bin/env bash
# Install the eKYC kiosk.
#
#   sudo scripts/install.sh [--kiosk-id ID] [--start]     Raspberry Pi OS Bookworm (Pi 4/5) or Jetson
#                                                         JetPack 6: system service, detected platform
#   scripts/install.sh --laptop                           this user only: a venv, a config, no service
#   scripts/install.sh --dry-run [...]                    print every step, change nothing
#
# Platform detection: /proc/device-tree/model ("Raspberry Pi ...") or /etc/nv_tegra_release (Jetson);
# override with --platform pi|jetson|generic. What it does (system mode):
#   1. apt packages (Pi: python3-picamera2 from the Raspberry Pi archive; Jetson: python3-opencv, the
#      JetPack OpenCV built with GStreamer), 2. service user `ekyc` in groups video/render/input,
#   3. /opt/ekyc-kiosk/venv with --system-site-packages and the kiosk installed into it (on Jetson the
#      PyPI OpenCV wheel is removed so the system cv2 with GStreamer is used), models and docs copied,
#   4. /etc/ekyc-kiosk/config.yaml from config/default.yaml with data_dir /var/lib/ekyc-kiosk,
#   5. /var/lib/ekyc-kiosk (0700, ekyc), 6. the per-device signing key via `ekyc-kiosk audit keygen`
#   (kept if it exists), 7. the systemd unit (+ a platform drop-in), enabled, 8. `ekyc-kiosk doctor`.
# Re-running is safe: existing config, key and data are kept.
set -euo pipefail

SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX=/opt/ekyc-kiosk
CONF_DIR=/etc/ekyc-kiosk
DATA_DIR=/var/lib/ekyc-kiosk
SERVICE_USER=ekyc
UNIT_DIR=/etc/systemd/system
DRY_RUN=0
LAPTOP=0
PLATFORM=""
KIOSK_ID=""
START=0
SKIP_APT=0
PRINT_CONFIG=0
# Detection inputs (overridable for tests).
DT_MODEL_FILE="${EKYC_DT_MODEL_FILE:-/proc/device-tree/model}"
TEGRA_RELEASE_FILE="${EKYC_TEGRA_RELEASE_FILE:-/etc/nv_tegra_release}"

usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  cat <<'EOF'
Options:
  --dry-run            print each step without running it
  --laptop             per-user install (venv + config under ~/.local/share and ~/.config); no service
  --platform NAME      pi | jetson | generic (default: detected)
  --kiosk-id ID        this kiosk's id (default: the host name)
  --prefix DIR         install directory (default /opt/ekyc-kiosk)
  --skip-apt           do not install system packages
  --start              start the service at the end
  --print-config       print the config.yaml this install would write, then exit
  -h, --help           this text
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --laptop) LAPTOP=1 ;;
    --platform) PLATFORM="${2:?--platform needs a value}"; shift ;;
    --kiosk-id) KIOSK_ID="${2:?--kiosk-id needs a value}"; shift ;;
    --prefix) PREFIX="${2:?--prefix needs a value}"; shift ;;
    --skip-apt) SKIP_APT=1 ;;
    --start) START=1 ;;
    --print-config) PRINT_CONFIG=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install.sh: unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

VENV="$PREFIX/venv"
STEP=0
if [ -n "$KIOSK_ID" ] && ! [[ "$KIOSK_ID" =~ ^[A-Za-z0-9._-]{1,64}$ ]]; then
  echo "install.sh: --kiosk-id must be 1-64 characters of letters, digits, '.', '_' or '-'" >&2
  exit 2
fi

step() {
  STEP=$((STEP + 1))
  printf '\n==> [%d] %s\n' "$STEP" "$*"
}

# Run a command, or only print it with --dry-run.
run() {
  printf '  + %s\n' "$*"
  if [ "$DRY_RUN" -eq 0 ]; then
    "$@"
  fi
}

note() {
  printf '  - %s\n' "$*"
}

die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}

detect_platform() {
  local model=""
  if [ -r "$DT_MODEL_FILE" ]; then
    model="$(tr -d '\0' <"$DT_MODEL_FILE")"
  fi
  case "$model" in
    *"Raspberry Pi"*) echo pi; return ;;
  esac
  if [ -e "$TEGRA_RELEASE_FILE" ]; then
    echo jetson
    return
  fi
  case "$model" in
    *NVIDIA* | *Jetson*) echo jetson; return ;;
  esac
  echo generic
}

os_codename() {
  if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091
    (. /etc/os-release && echo "${VERSION_CODENAME:-unknown}")
  else
    echo unknown
  fi
}

# Write stdin to a file (mode, owner), or describe it with --dry-run.
write_file() {
  local dest="$1" mode="$2" owner="$3" tmp
  printf '  + write %s (mode %s, owner %s)\n' "$dest" "$mode" "$owner"
  if [ "$DRY_RUN" -eq 1 ]; then
    cat >/dev/null
    return
  fi
  tmp="$(mktemp "${dest}.XXXXXX")"
  cat >"$tmp"
  chmod "$mode" "$tmp"
  chown "$owner" "$tmp"
  mv -f "$tmp" "$dest"
}

# The default config with the installed data directory and this kiosk's id.
render_config() {
  local data_dir="$1" kiosk_id="$2"
  sed -e "s|^  data_dir: .*|  data_dir: \"${data_dir}\"|" \
    -e "s|^  kiosk_id: .*|  kiosk_id: \"${kiosk_id}\"|" \
    "$SRC_DIR/config/default.yaml"
}

default_kiosk_id() {
  local h
  h="$(hostname 2>/dev/null || echo kiosk)"
  printf '%s' "$h" | tr -c 'A-Za-z0-9._-' '-' | cut -c1-64
}

# ---------------------------------------------------------------------------------------------------
install_laptop() {
  local share="${XDG_DATA_HOME:-$HOME/.local/share}/ekyc-kiosk"
  local conf="${XDG_CONFIG_HOME:-$HOME/.config}/ekyc-kiosk"
  local venv="$share/venv" data="$share/var" models="$share/models"
  [ "$(id -u)" -ne 0 ] || note "running as root: --laptop installs for root only; run it as your user"

  step "Python virtual environment in $venv"
  command -v python3 >/dev/null || die "python3 not found"
  run python3 -m venv "$venv"
  run "$venv/bin/pip" install --upgrade pip
  run "$venv/bin/pip" install "$SRC_DIR"
  note "mediapipe and ai-edge-litert come as wheels from PyPI (x86_64 and aarch64)"
  run rm -rf "$models"
  run cp -a "$SRC_DIR/models" "$models"

  step "Config $conf/config.yaml (data_dir $data)"
  run mkdir -p "$conf" "$data"
  run chmod 0700 "$data"
  if [ -e "$conf/config.yaml" ]; then
    note "kept existing $conf/config.yaml"
  else
    printf '  + write %s\n' "$conf/config.yaml"
    if [ "$DRY_RUN" -eq 0 ]; then
      render_config "$data" "${KIOSK_ID:-$(default_kiosk_id)}" >"$conf/config.yaml"
    fi
  fi
  run "$venv/bin/ekyc-kiosk" validate-config "$conf/config.yaml"

  step "Signing key"
  if [ -e "$data/signing.key" ]; then
    note "kept existing $data/signing.key"
  else
    run "$venv/bin/ekyc-kiosk" audit keygen --config "$conf/config.yaml"
  fi

  step "Check"
  if [ "$DRY_RUN" -eq 0 ]; then
    EKYC_MODELS_DIR="$models" "$venv/bin/ekyc-kiosk" doctor --config "$conf/config.yaml" || true
  else
    printf '  + %s\n' "EKYC_MODELS_DIR=$models $venv/bin/ekyc-kiosk doctor --config $conf/config.yaml"
  fi
  printf '\nRun it:  EKYC_MODELS_DIR=%s %s run --config %s\n' "$models" "$venv/bin/ekyc-kiosk" \
    "$conf/config.yaml"
}

# ---------------------------------------------------------------------------------------------------
install_system() {
  local platform="$1" codename kiosk_id
  codename="$(os_codename)"
  kiosk_id="${KIOSK_ID:-$(default_kiosk_id)}"
  if [ "$DRY_RUN" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
    die "system install needs root (sudo $0 ...), or use --laptop / --dry-run"
  fi
  note "platform: $platform, OS: $codename, kiosk id: $kiosk_id, source: $SRC_DIR"
  case "$platform" in
    pi) [ "$codename" = bookworm ] || note "expected Raspberry Pi OS Bookworm, found '$codename'" ;;
    jetson) [ "$codename" = jammy ] || note "expected JetPack 6 (Ubuntu 22.04 jammy), found '$codename'" ;;
  esac

  step "System packages"
  local pkgs=(python3 python3-venv python3-pip python3-numpy sqlite3 ca-certificates)
  case "$platform" in
    pi) pkgs+=(python3-picamera2 python3-libcamera rpicam-apps-lite v4l-utils) ;;
    jetson) pkgs+=(python3-opencv gstreamer1.0-tools v4l-utils) ;;
    *) pkgs+=(v4l-utils) ;;
  esac
  if [ "$SKIP_APT" -eq 1 ]; then
    note "skipped (--skip-apt): ${pkgs[*]}"
  else
    run apt-get update
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}"
  fi

  step "Service user $SERVICE_USER (groups video, render, input)"
  if getent passwd "$SERVICE_USER" >/dev/null; then
    note "user $SERVICE_USER exists"
  else
    run useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home --shell /usr/sbin/nologin \
      "$SERVICE_USER"
  fi
  local g
  for g in video render input; do
    # The unit's SupplementaryGroups= fails the start if a group is missing: make sure all exist.
    getent group "$g" >/dev/null || run groupadd --system "$g"
  done
  run usermod -a -G video,render,input "$SERVICE_USER"

  step "Application in $PREFIX (venv with system site packages)"
  run install -d -m 0755 "$PREFIX"
  run python3 -m venv --system-site-packages "$VENV"
  run "$VENV/bin/pip" install --upgrade pip
  run "$VENV/bin/pip" install "$SRC_DIR"
  case "$platform" in
    jetson)
      # JetPack's cv2 is built with GStreamer (nvarguscamerasrc); the PyPI wheel is not. Remove the
      # wheel so the system package, visible through --system-site-packages, is the one imported.
      run "$VENV/bin/pip" uninstall -y opencv-contrib-python opencv-python
      note "mediapipe: PyPI has manylinux aarch64 wheels for CPython 3.10 (JetPack 6's Python); if pip"
      note "cannot find one for your Python, install a matching wheel by hand before re-running"
      ;;
    pi)
      note "picamera2 comes from apt (python3-picamera2) and is seen through --system-site-packages"
      ;;
  esac
  run rm -rf "$PREFIX/models" "$PREFIX/docs"
  run cp -a "$SRC_DIR/models" "$PREFIX/models"
  if [ -d "$SRC_DIR/docs" ]; then
    run cp -a "$SRC_DIR/docs" "$PREFIX/docs"
  fi
  run chmod -R go-w "$PREFIX"
  if [ "$platform" = jetson ] && [ "$DRY_RUN" -eq 0 ]; then
    "$VENV/bin/python" -c 'import cv2, sys; sys.exit(0 if "GStreamer:                   YES" in cv2.getBuildInformation() else 1)' \
      || note "WARNING: the cv2 in the venv has no GStreamer; the CSI camera (type: gst) will not open"
  fi
  if [ "$platform" = pi ] && [ "$DRY_RUN" -eq 0 ]; then
    "$VENV/bin/python" -c 'import picamera2' \
      || note "WARNING: picamera2 does not import in the venv (numpy ABI clash?); see docs/appliance.md"
  fi

  step "Config $CONF_DIR/config.yaml (data_dir $DATA_DIR)"
  run install -d -m 0755 "$CONF_DIR"
  if [ -e "$CONF_DIR/config.yaml" ]; then
    note "kept existing $CONF_DIR/config.yaml"
  else
    render_config "$DATA_DIR" "$kiosk_id" | write_file "$CONF_DIR/config.yaml" 0640 "root:$SERVICE_USER"
  fi
  run "$VENV/bin/ekyc-kiosk" validate-config "$CONF_DIR/config.yaml"

  step "Data directory $DATA_DIR"
  run install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA_DIR"

  step "Per-device signing key (Ed25519)"
  if [ -e "$DATA_DIR/signing.key" ]; then
    note "kept existing $DATA_DIR/signing.key (never regenerate over an existing audit log)"
  else
    run runuser -u "$SERVICE_USER" -- env -C "$DATA_DIR" "$VENV/bin/ekyc-kiosk" audit keygen \
      --config "$CONF_DIR/config.yaml"
  fi
  note "enrol $DATA_DIR/signing.key.pub with the bank's record receiver"

  step "systemd unit"
  run install -m 0644 "$SRC_DIR/systemd/ekyc-kiosk.service" "$UNIT_DIR/ekyc-kiosk.service"
  run install -d -m 0755 "$UNIT_DIR/ekyc-kiosk.service.d"
  if [ "$PREFIX" != /opt/ekyc-kiosk ]; then
    write_file "$UNIT_DIR/ekyc-kiosk.service.d/10-prefix.conf" 0644 root:root <<EOF
[Service]
ExecStart=
ExecStart=$VENV/bin/ekyc-kiosk run --config $CONF_DIR/config.yaml
Environment=EKYC_MODELS_DIR=$PREFIX/models
EOF
  fi
  if [ "$platform" = jetson ]; then
    # nvarguscamerasrc talks to nvargus-daemon through /tmp/argus_socket, and the Tegra GPU/ISP device
    # nodes (nvhost-*, nvmap, nvgpu/*) differ between L4T releases: open the device list here and
    # tighten it once validated on the exact JetPack build (see docs/appliance.md).
    write_file "$UNIT_DIR/ekyc-kiosk.service.d/20-jetson.conf" 0644 root:root <<'EOF'
[Service]
BindPaths=/tmp/argus_socket
DeviceAllow=
DevicePolicy=auto
EOF
  fi
  run systemctl daemon-reload
  run systemctl enable ekyc-kiosk.service

  step "Doctor (display is skipped while another program may hold the screen)"
  if [ "$DRY_RUN" -eq 0 ]; then
    runuser -u "$SERVICE_USER" -- env -C "$DATA_DIR" EKYC_MODELS_DIR="$PREFIX/models" \
      "$VENV/bin/ekyc-kiosk" doctor --config "$CONF_DIR/config.yaml" --skip display \
      || note "doctor reported problems above; fix them before starting the service"
  else
    printf '  + %s\n' "runuser -u $SERVICE_USER -- $VENV/bin/ekyc-kiosk doctor --config $CONF_DIR/config.yaml"
  fi

  if [ "$START" -eq 1 ]; then
    step "Start"
    run systemctl restart ekyc-kiosk.service
  else
    printf '\nStart with: systemctl start ekyc-kiosk   (logs: journalctl -u ekyc-kiosk -f)\n'
  fi
  if [ "$platform" = pi ]; then
    printf 'Boot to the console (no desktop holding the screen): raspi-config nonint do_boot_behaviour B1\n'
  fi
}

# ---------------------------------------------------------------------------------------------------
[ -f "$SRC_DIR/pyproject.toml" ] || die "run me from the source tree (no pyproject.toml in $SRC_DIR)"
[ -f "$SRC_DIR/config/default.yaml" ] || die "missing $SRC_DIR/config/default.yaml"
if [ "$PRINT_CONFIG" -eq 1 ]; then
  if [ "$LAPTOP" -eq 1 ]; then
    render_config "${XDG_DATA_HOME:-$HOME/.local/share}/ekyc-kiosk/var" "${KIOSK_ID:-$(default_kiosk_id)}"
  else
    render_config "$DATA_DIR" "${KIOSK_ID:-$(default_kiosk_id)}"
  fi
  exit 0
fi
if [ "$DRY_RUN" -eq 1 ]; then
  printf 'DRY RUN: nothing is changed\n'
fi
if [ "$LAPTOP" -eq 1 ]; then
  install_laptop
else
  if [ -z "$PLATFORM" ]; then
    PLATFORM="$(detect_platform)"
  fi
  case "$PLATFORM" in
    pi | jetson | generic) ;;
    *) die "unknown platform '$PLATFORM' (pi, jetson, generic)" ;;
  esac
  install_system "$PLATFORM"
fi
printf '\ndone.\n'
