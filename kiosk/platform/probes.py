"""Health probes: disk space, clock sanity, data directory, camera and display. Heavy ones are lazy.

Each probe returns a :class:`Probe` (``status`` one of ok / warn / fail / unavailable, a one-line
``detail`` and, when not ok, a ``fix`` telling the operator what to do). ``ekyc-kiosk doctor`` runs them
all; the app calls :func:`disk_ok` before every session (refuse to start a session that could not be
recorded) and may call :func:`clock_probe` at start-up.

Nothing here logs or returns image content: the camera probe reports only the frame size.
"""

from __future__ import annotations

import datetime as _dt
import enum
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MIN_YEAR = 2024


class Status(str, enum.Enum):
    OK = "ok"
    WARN = "warn"  # works, but an operator should look (e.g. NTP state unknown)
    FAIL = "fail"
    UNAVAILABLE = "unavailable"  # the check itself could not run (e.g. no camera backend installed)
    SKIPPED = "skipped"  # the operator asked not to run it


@dataclass(frozen=True)
class Probe:
    name: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (Status.OK, Status.WARN, Status.SKIPPED)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "ok": self.ok,
            "detail": self.detail,
            "fix": self.fix,
        }


def _existing_ancestor(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def free_mb(path: str | Path) -> float:
    """Free space (MiB) available to this unprivileged process on the file system holding ``path``."""
    st = os.statvfs(_existing_ancestor(Path(path)))
    return st.f_bavail * st.f_frsize / (1024.0 * 1024.0)


def disk_ok(path: str | Path, min_free_mb: float) -> tuple[bool, float]:
    """``(free >= min_free_mb, free_mb)`` for the file system holding ``path`` (MiB).

    The app checks this before each session and, when False, shows "out of service" instead of starting
    one: a session whose decision record cannot be written durably must not happen.
    """
    try:
        free = free_mb(path)
    except OSError as exc:
        log.error("cannot stat the file system of %s: %s", path, exc)
        return False, 0.0
    return free >= float(min_free_mb), free


def disk_probe(path: str | Path, min_free_mb: float) -> Probe:
    ok, free = disk_ok(path, min_free_mb)
    detail = f"{free:.0f} MB free on the file system of {path} (minimum {min_free_mb:g} MB)"
    if ok:
        return Probe("disk", Status.OK, detail)
    return Probe(
        "disk",
        Status.FAIL,
        detail,
        "free space (old logs, evidence) or lower records.min_free_mb; new sessions are refused",
    )


def clock_probe(
    wall: Callable[[], float] = time.time,
    mono: Callable[[], float] = time.monotonic,
    ntp: Callable[[], bool | None] | None = None,
) -> Probe:
    """Wall clock plausible (year >= 2024), monotonic clock advancing, NTP synchronised when knowable.

    Records carry wall-clock ``created_at``; a Pi without an RTC boots in 1970 or at the last shutdown
    time until NTP syncs, which would make records unorderable at the bank.
    """
    m0 = mono()
    year = _dt.datetime.fromtimestamp(wall(), tz=_dt.timezone.utc).year
    m1 = mono()
    if m1 < m0:
        return Probe("clock", Status.FAIL, "monotonic clock went backwards", "report this board; reboot")
    if year < MIN_YEAR:
        return Probe(
            "clock",
            Status.FAIL,
            f"wall clock says year {year}",
            "enable time sync (systemd-timesyncd / chrony) and wait for NTP, or fit an RTC",
        )
    synced = (ntp or ntp_synchronized)()
    now = _dt.datetime.fromtimestamp(wall(), tz=_dt.timezone.utc).isoformat(timespec="seconds")
    if synced is None:
        return Probe(
            "clock",
            Status.WARN,
            f"wall clock {now}; NTP state unknown (timedatectl unavailable)",
            "make sure a time sync service runs",
        )
    if not synced:
        return Probe(
            "clock",
            Status.WARN,
            f"wall clock {now}; NTP not synchronised",
            "check network time: timedatectl timesync-status",
        )
    return Probe("clock", Status.OK, f"wall clock {now}; NTP synchronised")


def ntp_synchronized(timeout_s: float = 5.0) -> bool | None:
    """``timedatectl show -p NTPSynchronized``: True/False, or None when it cannot be asked."""
    exe = shutil.which("timedatectl")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    value = out.stdout.strip().lower()
    if out.returncode != 0 or value not in ("yes", "no"):
        return None
    return value == "yes"


def data_dir_probe(path: str | Path) -> Probe:
    """The data directory exists, is a directory, and a file can be created, fsynced and removed in it."""
    p = Path(path)
    if not p.exists():
        return Probe(
            "data_dir",
            Status.FAIL,
            f"{p} does not exist",
            f"create it for the service user: install -d -m 0700 {p} (scripts/install.sh does)",
        )
    if not p.is_dir():
        return Probe(
            "data_dir", Status.FAIL, f"{p} is not a directory", "point records.data_dir at a directory"
        )
    probe = p / f".doctor-{os.getpid()}.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"x")
            os.fsync(fd)
        finally:
            os.close(fd)
        probe.unlink()
    except OSError as exc:
        return Probe(
            "data_dir",
            Status.FAIL,
            f"{p} is not writable: {exc.strerror}",
            f"chown it to the service user and mode 0700 ({p})",
        )
    mode = p.stat().st_mode & 0o777
    if mode & 0o007:
        return Probe(
            "data_dir",
            Status.WARN,
            f"{p} is writable but open to other users (mode {mode:o})",
            f"chmod 0700 {p}",
        )
    return Probe("data_dir", Status.OK, f"{p} writable (mode {mode:o})")


def camera_probe(camera_cfg: Any, timeout_s: float = 5.0) -> Probe:
    """Open the configured camera briefly and read one frame (lazy: imports the camera backend here).

    Uses ``kiosk.camera.factory.open_source(cfg.camera)``; when that module is not installed the probe is
    ``unavailable``. The source is closed before returning. Only the frame size is reported.
    """
    import importlib

    try:
        factory = importlib.import_module("kiosk.camera.factory")
    except ImportError as exc:
        return Probe(
            "camera",
            Status.UNAVAILABLE,
            f"camera backends not available ({exc})",
            "install the kiosk with its camera sources (kiosk.camera.factory)",
        )
    kind = getattr(camera_cfg, "type", "?")
    try:
        source = factory.open_source(camera_cfg)
        if getattr(source, "is_open", True) is False and callable(getattr(source, "open", None)):
            source.open()  # FrameSource contract: open() before read()
    except Exception as exc:  # any backend error is a failed probe, reported with its message
        return Probe("camera", Status.FAIL, f"{kind} camera did not open: {_msg(exc)}", _camera_fix(kind))
    try:
        frame = _read_one(source, timeout_s)
    except Exception as exc:
        return Probe(
            "camera", Status.FAIL, f"{kind} camera opened but gave no frame: {_msg(exc)}", _camera_fix(kind)
        )
    finally:
        _close(source)
    if frame is None:
        return Probe(
            "camera", Status.FAIL, f"{kind} camera gave no frame within {timeout_s:g} s", _camera_fix(kind)
        )
    rgb = getattr(frame, "rgb", None)
    shape = getattr(rgb, "shape", None)
    size = f"{shape[1]}x{shape[0]}" if shape is not None and len(shape) >= 2 else "unknown size"
    return Probe("camera", Status.OK, f"{kind} camera gave a {size} frame")


def _read_one(source: Any, timeout_s: float) -> Any:
    """First frame from a source, whatever its reading method is called (read / next_frame / iterator)."""
    deadline = time.monotonic() + timeout_s
    for name in ("read", "next_frame", "get_frame"):
        fn = getattr(source, name, None)
        if callable(fn):
            while time.monotonic() < deadline:
                try:
                    frame = fn(timeout_s=max(0.1, deadline - time.monotonic()))
                except TypeError:
                    frame = fn()
                if frame is not None:
                    return frame
                time.sleep(0.05)
            return None
    if hasattr(source, "__iter__") or hasattr(source, "__next__"):
        return next(iter(source), None)
    raise TypeError(f"{type(source).__name__} has no read()/next_frame()/iterator")


def _close(source: Any) -> None:
    for name in ("close", "release", "stop"):
        fn = getattr(source, name, None)
        if callable(fn):
            try:
                fn()
            except Exception as exc:
                log.warning("closing the camera after the probe failed: %s", _msg(exc))
            return


def _camera_fix(kind: str) -> str:
    if kind == "picamera2":
        return "check the ribbon cable, `rpicam-hello --list-cameras`, and that the user is in group video"
    if kind == "opencv":
        return "check the USB cable and `v4l2-ctl --list-devices`; the user must be in group video"
    if kind == "gst":
        return "run the pipeline with gst-launch-1.0; check nvargus-daemon is running (Jetson)"
    return "check camera.* in the config"


def display_probe(timeout_s: float = 15.0, env: dict[str, str] | None = None) -> Probe:
    """Can SDL initialise its video driver? Runs in a child process so a hung/crashing driver cannot hurt us.

    Uses ``SDL_VIDEODRIVER`` from the environment (the unit sets kmsdrm; a laptop uses x11/wayland).
    """
    code = (
        "import os, pygame\n"
        "pygame.display.init()\n"
        "print(pygame.display.get_driver())\n"
        "info = pygame.display.get_desktop_sizes() if hasattr(pygame.display, 'get_desktop_sizes') else []\n"
        "print(' '.join(f'{w}x{h}' for w, h in info))\n"
    )
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=child_env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Probe(
            "display",
            Status.FAIL,
            f"SDL video init hung for {timeout_s:g} s",
            "check the DRM device and that no desktop session holds the screen",
        )
    except OSError as exc:
        return Probe("display", Status.UNAVAILABLE, f"cannot run the display check: {exc}", "")
    if out.returncode != 0:
        err = (out.stderr.strip().splitlines() or ["unknown error"])[-1]
        if "No module named 'pygame'" in err:
            return Probe("display", Status.UNAVAILABLE, "pygame is not installed", "pip install pygame-ce")
        driver = child_env.get("SDL_VIDEODRIVER", "(auto)")
        return Probe(
            "display",
            Status.FAIL,
            f"SDL video driver {driver} failed: {err}",
            "on the appliance: SDL_VIDEODRIVER=kmsdrm, user in groups video/render, no desktop "
            "session on the screen; on a laptop: run inside the desktop session",
        )
    lines = out.stdout.strip().splitlines()
    driver = lines[0] if lines else "?"
    sizes = lines[1] if len(lines) > 1 and lines[1] else "no size reported"
    if driver in ("dummy", "offscreen"):
        requested = child_env.get("SDL_VIDEODRIVER", "")
        if requested in ("dummy", "offscreen"):
            return Probe(
                "display",
                Status.WARN,
                f"SDL driver {driver} as requested (headless; nothing is shown)",
                "unset SDL_VIDEODRIVER=dummy/offscreen on the appliance",
            )
        return Probe(
            "display",
            Status.FAIL,
            f"no usable screen: SDL fell back to its {driver} driver",
            "connect the screen; on the appliance set SDL_VIDEODRIVER=kmsdrm (the unit does) and "
            "make sure no desktop session holds it; on a laptop run inside the desktop session",
        )
    return Probe("display", Status.OK, f"SDL driver {driver}, screens {sizes}")


def _msg(exc: BaseException) -> str:
    m = getattr(exc, "message", None)
    return str(m if m else exc) or type(exc).__name__
