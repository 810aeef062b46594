"""Waiting on the injected clock without ever blocking a simulation.

A real :class:`~kiosk.clock.MonotonicClock` is slept on; any other clock (``FakeClock`` in tests and
simulations) is advanced by its owner, so a source asked to wait simply reports "not yet". A clock
object may offer its own ``sleep(seconds)``; it is used when present.
"""

from __future__ import annotations

import time

from kiosk.clock import Clock, MonotonicClock

#: Times this close count as equal: frame times are sums of floats (t_open + media time).
EPSILON_S = 1e-6


def can_sleep(clock: Clock) -> bool:
    """True when waiting on ``clock`` means real time passing (so sources may sleep)."""
    return isinstance(clock, MonotonicClock) or callable(getattr(clock, "sleep", None))


def sleep_on(clock: Clock, seconds: float) -> None:
    """Sleep ``seconds`` on ``clock`` when it is real (or has ``sleep``); return at once otherwise."""
    if seconds <= 0:
        return
    custom = getattr(clock, "sleep", None)
    if callable(custom):
        custom(seconds)
    elif isinstance(clock, MonotonicClock):
        time.sleep(seconds)


def wait_until(clock: Clock, due_t: float, timeout_s: float) -> bool:
    """Wait until ``clock.now() >= due_t`` but at most ``timeout_s`` seconds.

    Returns True when the time has come. On a clock that cannot sleep it never waits: it answers
    whether the time has already come.
    """
    now = clock.now()
    if now >= due_t - EPSILON_S:
        return True
    if not can_sleep(clock):
        return False
    sleep_on(clock, min(due_t - now, max(0.0, timeout_s)))
    return clock.now() >= due_t - EPSILON_S
