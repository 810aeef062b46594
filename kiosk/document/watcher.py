"""Watch a drop folder (network share, or the mount point of a USB stick) for an uploaded ID image.

Polling, not inotify: it works the same on USB mounts, SMB/NFS shares and tmpfs, on every board.
A file is offered only once its size and modification time have stayed the same for ``settle_s``
seconds (a copy in progress is not read half-written). Files already present when the watcher
starts are the previous applicant's or the operator's: they are ignored. Hidden files, partial
downloads (``.part``, ``.crdownload``, ``.tmp``, ``~``) and non-image extensions are skipped. The
scan is bounded (depth and entry count) so a USB stick full of holiday photos cannot stall the
kiosk. Time comes from the injected clock.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from kiosk.clock import Clock

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
PARTIAL_SUFFIXES = (".part", ".crdownload", ".tmp", ".partial", ".download", "~")


@dataclass(frozen=True)
class DropFile:
    """A settled image file in the drop folder: path, size in bytes, mtime (ns)."""

    path: Path
    size: int
    mtime_ns: int


class DropFolderWatcher:
    """Call :meth:`poll` from the UI loop; it returns settled new image files, newest first.

    ``settle_s``: how long size and mtime must stay unchanged. ``max_depth``: sub-folder levels
    searched (a phone's DCIM/Camera is depth 2). ``max_entries``: directory entries examined per
    poll at most.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        clock: Clock,
        *,
        settle_s: float = 1.0,
        max_depth: int = 2,
        max_entries: int = 2000,
    ) -> None:
        self.folder = Path(folder)
        self.clock = clock
        self.settle_s = settle_s
        self.max_depth = max_depth
        self.max_entries = max_entries
        self._ignored: set[tuple[str, int, int]] = set()
        self._seen: dict[str, tuple[int, int, float]] = {}  # path -> (size, mtime_ns, first seen unchanged)
        self._ignored = {self._key(f) for f in self._scan()}
        if self._ignored:
            log.info("drop folder: %d file(s) already present are ignored", len(self._ignored))

    @staticmethod
    def _key(f: DropFile) -> tuple[str, int, int]:
        return (str(f.path), f.size, f.mtime_ns)

    def _scan(self) -> list[DropFile]:
        out: list[DropFile] = []
        budget = self.max_entries
        stack: list[tuple[Path, int]] = [(self.folder, 0)]
        while stack and budget > 0:
            d, depth = stack.pop()
            try:
                with os.scandir(d) as it:
                    for e in it:
                        budget -= 1
                        if budget <= 0:
                            break
                        name = e.name
                        if name.startswith("."):
                            continue
                        try:
                            if e.is_dir(follow_symlinks=False):
                                if depth < self.max_depth:
                                    stack.append((Path(e.path), depth + 1))
                                continue
                            if not e.is_file(follow_symlinks=False):
                                continue
                            low = name.lower()
                            if low.endswith(PARTIAL_SUFFIXES) or not low.endswith(IMAGE_EXTENSIONS):
                                continue
                            st = e.stat(follow_symlinks=False)
                        except OSError:
                            continue  # vanished or unreadable entry (stick pulled out mid-scan)
                        out.append(DropFile(Path(e.path), int(st.st_size), int(st.st_mtime_ns)))
            except OSError:
                continue  # folder not mounted (yet) or unreadable
        return out

    def poll(self) -> list[DropFile]:
        """New image files that have settled, newest first (empty list when none)."""
        now = self.clock.now()
        ready: list[DropFile] = []
        current: dict[str, tuple[int, int, float]] = {}
        for f in self._scan():
            if self._key(f) in self._ignored:
                continue
            key = str(f.path)
            prev = self._seen.get(key)
            if prev is not None and prev[0] == f.size and prev[1] == f.mtime_ns:
                since = prev[2]
            else:
                since = now
            current[key] = (f.size, f.mtime_ns, since)
            if f.size > 0 and now - since >= self.settle_s:
                ready.append(f)
        self._seen = current
        ready.sort(key=lambda f: f.mtime_ns, reverse=True)
        return ready

    def consume(self, f: DropFile, *, delete: bool = True) -> None:
        """Mark ``f`` as handled; delete it when possible (the image is personal data: it must not
        wait in the folder for the next applicant). A read-only USB stick is left as it is."""
        self._ignored.add(self._key(f))
        self._seen.pop(str(f.path), None)
        if delete:
            try:
                f.path.unlink()
            except OSError as exc:
                log.info("drop folder: could not delete a handled file (%s)", exc.strerror or exc)
