"""Play a folder of images as a camera, one image per ``1/fps`` seconds, in natural name order.

Natural order puts ``frame2.png`` before ``frame10.png``. Image ``n`` (counting across loops) is
stamped ``t_open + n / fps``. Pacing, dropping of late frames, the end (:class:`SourceEnded`) and
``loop`` behave as in :mod:`kiosk.camera.file_source`. Images are read lazily, one per frame
handed out; a file that cannot be decoded raises CameraError naming it.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

from kiosk.camera.frame import Frame
from kiosk.camera.imageops import bgr_to_rgb, downscale_to_fit
from kiosk.camera.media_paths import resolve_media_path
from kiosk.camera.pacing import wait_until
from kiosk.camera.source import DEFAULT_READ_TIMEOUT_S, SourceBase, SourceEnded, SourceInfo
from kiosk.clock import Clock
from kiosk.config.camera import DirCamera
from kiosk.errors import CameraError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


def natural_key(name: str) -> list[int | str]:
    """Sort key treating digit runs as numbers: img2 < img10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, in natural name order (hidden files skipped)."""
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
    ]
    return sorted(files, key=lambda p: natural_key(p.name))


class DirSource(SourceBase):
    """See the module docstring."""

    def __init__(self, cfg: DirCamera, clock: Clock) -> None:
        self._cfg = cfg
        self._clock = clock
        self._name = f"dir:{cfg.path}"
        self._info = SourceInfo(self._name, cfg.width_px, cfg.height_px, cfg.fps, is_live=False)
        self._files: list[Path] = []

    @property
    def info(self) -> SourceInfo:
        return self._info

    def open(self) -> None:
        if self._is_open:
            return
        folder = resolve_media_path(self._cfg.path, what="image folder")
        if not folder.is_dir():
            raise CameraError(f"not a folder: {folder}")
        files = list_images(folder)
        if not files:
            kinds = ", ".join(sorted(IMAGE_EXTENSIONS))
            raise CameraError(f"no images in {folder} (looked for {kinds})", code="media_not_found")
        self._files = files
        first = self._load(files[0])
        h, w = first.shape[:2]
        self._info = SourceInfo(self._name, w, h, self._cfg.fps, is_live=False)
        self._t0 = self._clock.now()
        self._next = 0  # frame number (across loops) of the next image to hand out
        self._delivered = 0
        self._is_open = True
        log.info("opened %s: %d images at %.2f fps", self._name, len(files), self._cfg.fps)

    def _load(self, path: Path):  # type: ignore[no-untyped-def]
        import cv2

        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise CameraError(f"cannot decode image {path}", code="media_unreadable")
        rgb = bgr_to_rgb(bgr)
        if self._cfg.scale_to_fit:
            rgb = downscale_to_fit(rgb, self._cfg.width_px, self._cfg.height_px)
        return rgb

    def _exists(self, n: int) -> bool:
        return self._cfg.loop or n < len(self._files)

    def read(self, timeout_s: float = DEFAULT_READ_TIMEOUT_S) -> Frame | None:
        self._require_open()
        n = self._next
        if not self._exists(n):
            raise SourceEnded(f"end of {self._name}")
        period = 1.0 / self._cfg.fps
        dropped = 0
        if self._cfg.realtime:
            if not wait_until(self._clock, self._t0 + n * period, timeout_s):
                return None
            # Skip to the newest due image without decoding the ones in between.
            due_n = math.floor((self._clock.now() - self._t0) / period + 1e-9)
            if not self._cfg.loop:
                due_n = min(due_n, len(self._files) - 1)
            if due_n > n:
                dropped, n = due_n - n, due_n
        path = self._files[n % len(self._files)]
        rgb = self._load(path)
        self._next = n + 1
        frame = Frame(
            rgb=rgb,
            timestamp_s=self._t0 + n * period,
            index=self._delivered,
            meta={"source": self._name, "file": path.name, "loop": n // len(self._files), "dropped": dropped},
        )
        self._delivered += 1
        return frame

    def close(self) -> None:
        self._is_open = False
