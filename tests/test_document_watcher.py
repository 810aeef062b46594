"""Drop-folder watcher: settle time from the injected clock, stale files ignored, partial copies skipped."""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.clock import FakeClock
from kiosk.document.watcher import DropFolderWatcher


def test_new_file_is_offered_once_settled(tmp_path: Path) -> None:
    (tmp_path / "old.jpg").write_bytes(b"previous applicant")
    clock = FakeClock(10.0)
    w = DropFolderWatcher(tmp_path, clock, settle_s=1.0)
    assert w.poll() == []  # the file that was already there is ignored
    f = tmp_path / "id.jpg"
    f.write_bytes(b"x" * 100)
    assert w.poll() == []  # just appeared: not settled
    clock.advance(0.5)
    with open(f, "ab") as fh:  # the copy is still growing
        fh.write(b"y" * 100)
    assert w.poll() == []
    clock.advance(0.6)
    assert w.poll() == []  # 0.6 s since the last change
    clock.advance(0.5)
    ready = w.poll()
    assert [r.path.name for r in ready] == ["id.jpg"] and ready[0].size == 200
    w.consume(ready[0])
    assert not f.exists()  # personal data does not wait for the next applicant
    clock.advance(5)
    assert w.poll() == []


def test_partial_hidden_and_other_files_are_skipped(tmp_path: Path) -> None:
    clock = FakeClock()
    w = DropFolderWatcher(tmp_path, clock, settle_s=0.5)
    for name in ("scan.jpg.part", ".hidden.jpg", "notes.txt", "movie.mp4", "photo.crdownload"):
        (tmp_path / name).write_bytes(b"data")
    sub = tmp_path / "DCIM" / "Camera"
    sub.mkdir(parents=True)
    (sub / "IMG_0001.JPG").write_bytes(b"jpeg")
    (sub / "IMG_0002.png").write_bytes(b"png")
    os.utime(sub / "IMG_0001.JPG", ns=(1_000_000_000, 1_000_000_000))
    w.poll()
    clock.advance(1.0)
    names = [r.path.name for r in w.poll()]
    assert names == ["IMG_0002.png", "IMG_0001.JPG"]  # newest first, nothing else


def test_missing_folder_is_not_an_error(tmp_path: Path) -> None:
    mount = tmp_path / "usb"
    clock = FakeClock()
    w = DropFolderWatcher(mount, clock, settle_s=0.2)
    assert w.poll() == []
    mount.mkdir()  # the stick is plugged in: its files are new to the watcher
    (mount / "passport.webp").write_bytes(b"webp")
    w.poll()
    clock.advance(0.3)
    assert [r.path.name for r in w.poll()] == ["passport.webp"]
