"""What every delivery target (MQTT, webhook) implements, and the error it raises when not acknowledged."""

from __future__ import annotations

from typing import Protocol

from kiosk.errors import KioskError


class DeliveryError(KioskError):
    """A sink did not acknowledge a record. ``permanent``: the receiver rejected this record itself."""

    code = "delivery_failed"

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Sink(Protocol):
    """A delivery target. ``deliver`` returns only after the receiver acknowledged, else raises."""

    name: str

    def deliver(self, record_id: str, payload: bytes) -> None: ...

    def close(self) -> None: ...
