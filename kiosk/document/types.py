"""Typed results of the document step."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kiosk.perception.types import FaceObservation, Quality


class DocumentKind(enum.Enum):
    """Canonical document formats (ICAO 9303). Sizes in millimetres, width x height, landscape."""

    ID1 = "id1"  # ID card, 85.6 x 54 mm (also TD1)
    TD3 = "td3"  # passport data page, 125 x 88 mm
    UNKNOWN = "unknown"

    @property
    def size_mm(self) -> tuple[float, float]:
        return _SIZES_MM[self]

    @property
    def aspect(self) -> float:
        w, h = self.size_mm
        return w / h


_SIZES_MM = {
    DocumentKind.ID1: (85.6, 54.0),
    DocumentKind.TD3: (125.0, 88.0),
    DocumentKind.UNKNOWN: (0.0, 0.0),
}


@dataclass(frozen=True)
class Quad:
    """A document outline: 4 corners (x, y) in image pixels, ordered top-left, top-right,
    bottom-right, bottom-left as seen in the image. ``score`` 0..1 says how card-like it is."""

    corners: np.ndarray  # (4, 2) float32
    score: float = 0.0

    @property
    def area(self) -> float:
        c = self.corners.astype(np.float64)
        x, y = c[:, 0], c[:, 1]
        return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))

    @property
    def side_lengths(self) -> tuple[float, float, float, float]:
        """Top, right, bottom, left edge lengths in pixels."""
        c = self.corners.astype(np.float64)
        d = [float(np.linalg.norm(c[(i + 1) % 4] - c[i])) for i in range(4)]
        return d[0], d[1], d[2], d[3]

    @property
    def aspect(self) -> float:
        """Mean horizontal over mean vertical edge length (perspective makes it approximate)."""
        t, r, b, l = self.side_lengths  # noqa: E741
        return (t + b) / max(1e-6, r + l)

    def scaled(self, factor: float) -> Quad:
        return Quad(corners=(self.corners * factor).astype(np.float32), score=self.score)

    def as_list(self) -> list[list[float]]:
        return [[round(float(x), 1), round(float(y), 1)] for x, y in self.corners]


@dataclass(frozen=True)
class Rectified:
    """A document image ready for portrait search.

    ``image``: RGB uint8. ``rectified``: True when a perspective correction to ``kind``'s aspect
    was applied; False when the input is used as it is. ``quad``: the outline found in the input
    (None when not rectified). ``homography``: 3x3 mapping input pixels to ``image`` pixels
    (identity when not rectified). ``rotation_deg``: the extra quarter-turn applied so that the
    portrait is upright (0, 90, 180, 270; counter-clockwise).
    """

    image: np.ndarray
    rectified: bool
    kind: DocumentKind
    quad: Quad | None
    homography: np.ndarray
    rotation_deg: int = 0


@dataclass(frozen=True)
class Portrait:
    """The document's portrait.

    ``box``: (x, y, w, h) face box in the document image (rectified when ``rectified``).
    ``crop``: RGB uint8 of the face with margin. ``crop_box``: where ``crop`` was cut (x, y, w, h).
    ``face``: the detector's observation (landmarks in document-image pixels), for the face matcher.
    ``ghosts``: how many smaller "ghost" portraits (secondary security images) were seen and ignored.
    ``input_box``: the face box mapped back to the input image (axis-aligned bounding box).
    """

    box: tuple[float, float, float, float]
    crop: np.ndarray
    crop_box: tuple[int, int, int, int]
    quality: Quality
    exposure: float
    face: FaceObservation
    ghosts: int = 0
    input_box: tuple[float, float, float, float] | None = None

    def quality_dict(self) -> dict[str, float]:
        d = self.quality.as_dict()
        d["exposure"] = round(self.exposure, 3)
        return d


@dataclass(frozen=True)
class DocumentResult:
    """Outcome of the document step for one still image."""

    portrait: Portrait
    document: Rectified
    timings_ms: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        p = self.portrait
        out: dict[str, Any] = {
            "portrait": {
                "box": [round(float(v), 1) for v in p.box],
                "quality": p.quality_dict(),
                "ghost_portraits": p.ghosts,
            },
            "rectified": self.document.rectified,
            "document": {
                "kind": self.document.kind.value,
                "width": int(self.document.image.shape[1]),
                "height": int(self.document.image.shape[0]),
                "rotation_deg": self.document.rotation_deg,
                "quad": self.document.quad.as_list() if self.document.quad is not None else None,
            },
        }
        if p.input_box is not None:
            out["portrait"]["input_box"] = [round(float(v), 1) for v in p.input_box]
        return out
