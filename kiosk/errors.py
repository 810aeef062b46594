"""Exception hierarchy. Every error a user can cause carries a short machine code and a readable message."""

from __future__ import annotations


class KioskError(Exception):
    """Base class. ``code`` is stable and goes into JSON output and decision records."""

    code = "kiosk_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class ConfigError(KioskError):
    code = "config_invalid"


class InputError(KioskError):
    """Unusable input from the applicant or operator (bad file, no face, several faces...)."""

    code = "input_unusable"


class ModelError(KioskError):
    """A model file is missing, unreadable or does not match its manifest sha256."""

    code = "model_invalid"


class CameraError(KioskError):
    code = "camera_error"


class CameraLost(CameraError):
    code = "camera_lost"


class StorageError(KioskError):
    code = "storage_error"
