"""The kiosk's document step: an uploaded file, a drop folder, or camera auto-capture, whichever comes first.

The tracker runs per frame on the perception thread for a live camera (its outline search costs tens of
ms: ``ekyc-kiosk bench --only document``), inline for replays; enrolment of the portrait (face
detection, rectification, embedding) runs on the worker and comes back as DocumentAccepted/Refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.errors import InputError, KioskError
from kiosk.flow import events as ev

log = logging.getLogger(__name__)


def enrol_job(load: Callable[[], np.ndarray], verifier: Any, scratch: Any, source: str) -> Callable[[], Any]:
    """A worker job: decode, find the portrait, embed it into the session scratch, answer with an event."""

    def job() -> Any:
        try:
            rgb = load()
            enrolled = verifier.enrol_document(rgb)
        except InputError as exc:
            return ev.DocumentRefused(exc.code, exc.message)
        except KioskError as exc:
            return ev.DocumentRefused(exc.code, exc.message)
        scratch.id_embedding = enrolled.embedding
        info = {**enrolled.as_dict(), "source": source}
        info.pop("role", None)
        return ev.DocumentAccepted(info)

    return job


class DocumentStep:
    """Watches the drop folder and the camera until a document arrives.

    :meth:`update` is called with each camera frame; it returns a hint code (str) for the screen, or
    None. When a document is captured it hands an enrolment job to ``submit`` once and goes quiet.
    """

    def __init__(
        self,
        cfg: Any,
        verifier: Any,
        scratch: Any,
        submit: Callable[[str, Callable[[], Any]], None],
        clock: Any,
    ) -> None:
        from kiosk.document.autocapture import AutoCaptureTracker

        self.cfg = cfg
        self.verifier = verifier
        self.scratch = scratch
        self.submit = submit
        self.done = False
        mode = cfg.document.mode
        self.tracker = AutoCaptureTracker(cfg.document.capture) if mode in ("camera", "either") else None
        self.watcher = None
        folder = cfg.document.upload.drop_folder
        if folder and mode in ("upload", "either"):
            from kiosk.document.watcher import DropFolderWatcher

            try:
                self.watcher = DropFolderWatcher(folder, clock)
            except (OSError, KioskError) as exc:
                log.warning("drop folder %s unavailable: %s", folder, exc)

    def update(self, rgb: np.ndarray, timestamp_s: float) -> str | None:
        if self.done:
            return None
        if self.watcher is not None:
            files = self.watcher.poll()
            if files:
                f = files[0]
                self.watcher.consume(f, delete=False)
                self._enrol_file(f.path, "drop_folder")
                return None
        if self.tracker is None:
            return "show_document"
        status = self.tracker.update(rgb, timestamp_s)
        if status.captured is not None:
            self.done = True
            doc = status.captured.document.image
            self.submit("document", enrol_job(lambda: doc, self.verifier, self.scratch, "camera"))
            return None
        return status.hint.value

    def _enrol_file(self, path: Path, source: str) -> None:
        self.done = True
        up = self.cfg.document.upload

        def load() -> np.ndarray:
            from kiosk.imageio import load_image

            return load_image(path, max_bytes=up.max_bytes, max_pixels=up.max_pixels)

        self.submit("document", enrol_job(load, self.verifier, self.scratch, source))


def start_document(
    cfg: Any,
    id_image: Path | None,
    verifier: Any,
    scratch: Any,
    submit: Callable[[str, Callable[[], Any]], None],
    clock: Any,
) -> DocumentStep | None:
    """Begin the document step. With ``id_image`` (the upload path) the file is enrolled at once and no
    tracker is needed; otherwise a :class:`DocumentStep` watches the camera and the drop folder."""
    if id_image is not None:
        up = cfg.document.upload

        def load() -> np.ndarray:
            from kiosk.imageio import load_image

            return load_image(id_image, max_bytes=up.max_bytes, max_pixels=up.max_pixels)

        submit("document", enrol_job(load, verifier, scratch, "upload"))
        return None
    return DocumentStep(cfg, verifier, scratch, submit, clock)
