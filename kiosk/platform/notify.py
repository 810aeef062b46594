"""systemd service notification (``sd_notify``) and the main-loop watchdog, without libsystemd.

The unit is ``Type=notify`` with ``WatchdogSec=``: systemd passes ``NOTIFY_SOCKET`` (a filesystem path or,
starting with ``@``, a Linux abstract-namespace name) and, when the watchdog is on, ``WATCHDOG_USEC`` and
``WATCHDOG_PID``. Outside systemd (laptop, tests without the variable) every call is a cheap no-op that
returns False.

How the app uses it (the lead's ``kiosk/app.py``)::

    notifier = Notifier.from_env()
    watchdog = Watchdog.from_env(notifier)          # None-safe: a disabled watchdog pings nothing
    ... load models, open camera ...
    notifier.ready("idle")                           # READY=1 + STATUS=idle
    signal.signal(signal.SIGTERM, lambda *_: (notifier.stopping(), request_quit()))
    while running:
        watchdog.ping(clock.now())                   # from the main loop only, never a side thread
        ...

The watchdog ping is deliberately tied to the main loop: if the UI/engine loop hangs (camera read
blocked forever, a deadlock), pings stop and systemd restarts the service. A side thread pinging on a
timer would keep a hung kiosk "alive". :class:`Watchdog` refuses pings from any thread but the one that
created it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping

log = logging.getLogger(__name__)


def _socket_address(value: str) -> str | bytes | None:
    """Translate ``NOTIFY_SOCKET`` into an ``AF_UNIX`` address; None when unusable."""
    if not value:
        return None
    if value.startswith("@"):
        # Abstract namespace: a leading NUL byte instead of '@', no filesystem entry.
        return b"\0" + value[1:].encode("utf-8", "surrogateescape")
    if value.startswith("/"):
        return value
    # vsock: addresses (VMs) and relative paths are not used on our targets.
    return None


class Notifier:
    """Sends ``sd_notify`` state strings to the service manager.

    ``socket_path``: the ``NOTIFY_SOCKET`` value (None: notifications are disabled, methods return False).
    Each call opens a fresh datagram socket, as libsystemd does; a send failure is logged once at WARNING
    and never raised, because a kiosk must not die because systemd's socket went away.
    """

    def __init__(self, socket_path: str | None) -> None:
        self._address = _socket_address(socket_path) if socket_path else None
        self._warned = False
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET") or None)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, *assignments: str) -> bool:
        """Send ``KEY=VALUE`` lines in one datagram; True when the datagram was sent."""
        if self._address is None or not assignments:
            return False
        for a in assignments:
            if "=" not in a or "\n" in a:
                raise ValueError(f"sd_notify assignment must be one KEY=VALUE line, got {a!r}")
        data = "\n".join(assignments).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.connect(self._address)
                s.sendall(data)
            return True
        except OSError as exc:
            with self._lock:
                first = not self._warned
                self._warned = True
            if first:
                log.warning("sd_notify to the service manager failed: %s", exc)
            return False

    def ready(self, status: str | None = None) -> bool:
        """``READY=1``: start-up finished (models loaded, camera open, first screen drawn)."""
        return self.notify("READY=1", *([_status(status)] if status else []))

    def status(self, text: str) -> bool:
        """``STATUS=...``: one line shown by ``systemctl status`` (no biometric data, ever)."""
        return self.notify(_status(text))

    def stopping(self, status: str | None = "stopping") -> bool:
        """``STOPPING=1``: call from the SIGTERM handler before shutting down."""
        return self.notify("STOPPING=1", *([_status(status)] if status else []))

    def watchdog(self) -> bool:
        """``WATCHDOG=1``: prefer :meth:`Watchdog.ping`, which rate-limits and checks the thread."""
        return self.notify("WATCHDOG=1")

    def extend_timeout(self, seconds: float) -> bool:
        """``EXTEND_TIMEOUT_USEC``: ask for more start/stop time (slow model load on a cold SD card)."""
        return self.notify(f"EXTEND_TIMEOUT_USEC={max(0, int(seconds * 1e6))}")


def _status(text: str) -> str:
    one_line = " ".join(str(text).split())
    return f"STATUS={one_line[:200]}"


def notify_stopping(environ: Mapping[str, str] | None = None) -> bool:
    """Send ``STOPPING=1`` (convenience for a SIGTERM handler that has no Notifier at hand)."""
    return Notifier.from_env(environ).stopping()


def watchdog_interval_s(environ: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """The watchdog timeout systemd enforces, in seconds, or None when the watchdog is off for us.

    Reads ``WATCHDOG_USEC`` (microseconds); when ``WATCHDOG_PID`` is set it must be our pid, otherwise the
    variable was inherited by a child process and is not meant for it.
    """
    env = os.environ if environ is None else environ
    raw = env.get("WATCHDOG_USEC")
    if not raw:
        return None
    try:
        usec = int(raw)
    except ValueError:
        log.warning("ignoring malformed WATCHDOG_USEC=%r", raw)
        return None
    if usec <= 0:
        return None
    wpid = env.get("WATCHDOG_PID")
    if wpid:
        try:
            if int(wpid) != (os.getpid() if pid is None else pid):
                return None
        except ValueError:
            return None
    return usec / 1e6


class Watchdog:
    """Rate-limited ``WATCHDOG=1`` from the main loop.

    ``interval_s``: the systemd watchdog timeout (seconds; None disables every ping). :meth:`ping` sends at
    most once every ``interval_s / 2`` so one missed loop iteration is not fatal, and raises RuntimeError
    when called from a thread other than the creating one (a side thread would hide a hung main loop).
    """

    def __init__(self, notifier: Notifier, interval_s: float | None) -> None:
        self._notifier = notifier
        self.interval_s = interval_s if interval_s and interval_s > 0 else None
        self._thread = threading.get_ident()
        self._last: float | None = None
        self.sent = 0

    @classmethod
    def from_env(cls, notifier: Notifier | None = None, environ: Mapping[str, str] | None = None) -> Watchdog:
        n = notifier if notifier is not None else Notifier.from_env(environ)
        return cls(n, watchdog_interval_s(environ))

    @property
    def enabled(self) -> bool:
        return self.interval_s is not None and self._notifier.enabled

    @property
    def period_s(self) -> float | None:
        """Seconds between pings (half the systemd timeout), or None when disabled."""
        return None if self.interval_s is None else self.interval_s / 2.0

    def ping(self, now: float) -> bool:
        """Call once per main-loop iteration with the monotonic time (s). True when WATCHDOG=1 went out."""
        if threading.get_ident() != self._thread:
            raise RuntimeError("Watchdog.ping must be called from the main loop's thread, not a side thread")
        if not self.enabled:
            return False
        assert self.interval_s is not None
        if self._last is not None and now - self._last < self.interval_s / 2.0:
            return False
        if self._notifier.watchdog():
            self._last = now
            self.sent += 1
            return True
        return False
