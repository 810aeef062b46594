"""Drawing the actor's frames: hand tremor, a tilted photo, an ID card held up, a second face,
camera noise. Everything is a pure function of its inputs (and a seeded generator), so a scenario
replays identically.
"""

from __future__ import annotations

import math

import numpy as np

# ID-1 card (85.60 x 53.98 mm) at 10 px per mm.
CARD_W_PX, CARD_H_PX = 856, 540


class Tremor:
    """Smooth, seeded hand motion: a sum of slow sinusoids, a pure function of time (s).

    ``offset(t)`` -> (dx px, dy px, rotation deg), amplitudes scaled by ``px`` and ``deg``.
    Frequencies 0.2-2.5 Hz, like a hand holding a card or photo.
    """

    def __init__(self, rng: np.random.Generator, px: float, deg: float, n: int = 4) -> None:
        self._freqs = rng.uniform(0.2, 2.5, size=(3, n))
        self._phases = rng.uniform(0, 2 * math.pi, size=(3, n))
        weights = rng.uniform(0.5, 1.0, size=(3, n))
        self._weights = weights / weights.sum(axis=1, keepdims=True)
        self._amp = np.array([px, px, deg])

    def offset(self, t: float) -> tuple[float, float, float]:
        v = (self._weights * np.sin(2 * math.pi * self._freqs * t + self._phases)).sum(axis=1) * self._amp
        return float(v[0]), float(v[1]), float(v[2])


def shake(rgb: np.ndarray, dx: float, dy: float, deg: float) -> np.ndarray:
    """Move ``rgb`` by (dx, dy) px and rotate by ``deg`` about its centre (edges replicated)."""
    import cv2

    if abs(dx) < 1e-3 and abs(dy) < 1e-3 and abs(deg) < 1e-4:
        return rgb
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), deg, 1.0)
    m[:, 2] += np.array([dx, dy])
    return cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def tilt(rgb: np.ndarray, yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """The image as a flat print rotated in 3D about its centre, seen by a pinhole camera.

    ``yaw_deg`` > 0 moves the right edge away (the printed face then seems to look toward the
    image's right); ``pitch_deg`` > 0 moves the bottom edge away. Focal length = image width.
    """
    import cv2

    h, w = rgb.shape[:2]
    f = float(w)
    ya, pa = math.radians(yaw_deg), math.radians(pitch_deg)
    ry = np.array([[math.cos(ya), 0, -math.sin(ya)], [0, 1, 0], [math.sin(ya), 0, math.cos(ya)]])
    rx = np.array([[1, 0, 0], [0, math.cos(pa), -math.sin(pa)], [0, math.sin(pa), math.cos(pa)]])
    rot = rx @ ry
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dst = []
    for x, y in src:
        p = rot @ np.array([x - w / 2, y - h / 2, 0.0]) + np.array([0, 0, f])
        dst.append((f * p[0] / p[2] + w / 2, f * p[1] / p[2] + h / 2))
    hmat = cv2.getPerspectiveTransform(src, np.array(dst, np.float32))
    return cv2.warpPerspective(rgb, hmat, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def render_id_card(portrait: np.ndarray, seed: int = 0) -> np.ndarray:
    """A plain simulated ID-1 card (856x540 RGB): the portrait on the left, placeholder text and an
    MRZ-like block. Clearly labelled as simulated; it stands in for a document only in simulations."""
    import cv2

    rng = np.random.default_rng(seed)
    card = np.empty((CARD_H_PX, CARD_W_PX, 3), np.uint8)
    # A pale guilloche-like background: a gentle gradient plus faint waves.
    yy, xx = np.mgrid[0:CARD_H_PX, 0:CARD_W_PX].astype(np.float32)
    wave = 6 * np.sin(xx / 23.0 + 3 * np.sin(yy / 41.0))
    base = np.array([214, 228, 236], np.float32)
    card[:] = np.clip(base[None, None, :] - (yy / CARD_H_PX * 18)[..., None] + wave[..., None], 0, 255)
    cv2.rectangle(card, (0, 0), (CARD_W_PX - 1, 64), (40, 70, 120), -1)
    white = (255, 255, 255)
    title = "SIMULATED IDENTITY CARD"
    cv2.putText(card, title, (24, 44), cv2.FONT_HERSHEY_SIMPLEX, 1.1, white, 2, cv2.LINE_AA)
    # Portrait box (35 x 45 mm) on the left.
    px0, py0, pw, ph = 36, 96, 270, 340
    ph_h, ph_w = portrait.shape[:2]
    scale = max(pw / ph_w, ph / ph_h)
    sw, sh = max(pw, round(ph_w * scale)), max(ph, round(ph_h * scale))
    resized = cv2.resize(portrait, (sw, sh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    x0, y0 = (sw - pw) // 2, (sh - ph) // 2
    card[py0 : py0 + ph, px0 : px0 + pw] = resized[y0 : y0 + ph, x0 : x0 + pw]
    cv2.rectangle(card, (px0 - 1, py0 - 1), (px0 + pw, py0 + ph), (60, 60, 60), 1)
    fields = [
        ("SURNAME", "SPECIMEN"),
        ("GIVEN NAMES", "SIMULATED APPLICANT"),
        ("DATE OF BIRTH", "01 01 1990"),
        ("DOCUMENT NO", f"X{int(rng.integers(10_000_000, 99_999_999))}"),
        ("EXPIRY", "31 12 2035"),
    ]
    y = 118
    for label, value in fields:
        cv2.putText(card, label, (340, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (70, 80, 90), 1, cv2.LINE_AA)
        cv2.putText(card, value, (340, y + 30), cv2.FONT_HERSHEY_SIMPLEX, 0.85, (20, 20, 30), 2, cv2.LINE_AA)
        y += 66
    mrz = ["I<SIMX00000000<0<<<<<<<<<<<<<<", "9001011M3512315SIM<<<<<<<<<<<0", "SPECIMEN<<SIMULATED<<<<<<<"]
    ink = (25, 25, 25)
    for i, line in enumerate(mrz):
        cv2.putText(card, line, (24, 470 + i * 26), cv2.FONT_HERSHEY_PLAIN, 1.55, ink, 2, cv2.LINE_AA)
    return card


def hold_up(
    background: np.ndarray, card: np.ndarray, width_frac: float, dx: float, dy: float, deg: float
) -> np.ndarray:
    """``card`` held in front of ``background``: ``width_frac`` of the frame wide, centred, moved by
    (dx, dy) px and rotated ``deg`` (hand tremor). Returns a new frame."""
    import cv2

    h, w = background.shape[:2]
    ch, cw = card.shape[:2]
    s = width_frac * w / cw
    m = cv2.getRotationMatrix2D((cw / 2.0, ch / 2.0), deg, s)
    m[:, 2] += np.array([w / 2.0 - cw / 2.0 + dx, h / 2.0 - ch / 2.0 + dy])
    warped = cv2.warpAffine(card, m, (w, h), flags=cv2.INTER_AREA, borderValue=(0, 0, 0))
    mask = cv2.warpAffine(np.full((ch, cw), 255, np.uint8), m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    return (warped * alpha + background * (1.0 - alpha)).astype(np.uint8)


class FacePatch:
    """A second face pasted into the view through a feathered ellipse (no hard sticker edges)."""

    def __init__(self, rgb: np.ndarray, frame_size: tuple[int, int], height_frac: float, side: str) -> None:
        import cv2

        w, h = frame_size
        ph = max(8, round(h * height_frac))
        pw = max(8, round(rgb.shape[1] * ph / rgb.shape[0]))
        self.patch = cv2.resize(rgb, (pw, ph), interpolation=cv2.INTER_AREA).astype(np.float32)
        mask = np.zeros((ph, pw), np.float32)
        cv2.ellipse(mask, (pw // 2, ph // 2), (int(pw * 0.42), int(ph * 0.46)), 0, 0, 360, 1.0, -1)
        k = max(3, (min(pw, ph) // 8) | 1)
        self.alpha = cv2.GaussianBlur(mask, (k, k), 0)[..., None]
        margin = round(0.03 * w)
        self.x0 = w - pw - margin if side == "right" else margin
        self.y0 = round(0.1 * h)
        self.x0 = max(0, min(self.x0, w - pw))
        self.y0 = max(0, min(self.y0, h - ph))

    def apply(self, frame: np.ndarray) -> np.ndarray:
        out = frame.copy()
        ph, pw = self.patch.shape[:2]
        region = out[self.y0 : self.y0 + ph, self.x0 : self.x0 + pw].astype(np.float32)
        out[self.y0 : self.y0 + ph, self.x0 : self.x0 + pw] = (
            self.patch * self.alpha + region * (1.0 - self.alpha)
        ).astype(np.uint8)
        return out


class NoiseBank:
    """Cheap seeded sensor noise: a few precomputed Gaussian fields, picked and rolled per frame."""

    def __init__(self, rng: np.random.Generator, size: tuple[int, int], std: float, n: int = 4) -> None:
        w, h = size
        self._rng = rng
        self._fields = [
            (rng.standard_normal((h, w, 3), dtype=np.float32) * std).astype(np.int16) for _ in range(n)
        ]

    def apply(self, frame: np.ndarray) -> np.ndarray:
        field = self._fields[int(self._rng.integers(len(self._fields)))]
        h, w = field.shape[:2]
        field = np.roll(field, (int(self._rng.integers(h)), int(self._rng.integers(w))), axis=(0, 1))
        if field.shape != frame.shape:
            return frame
        return np.clip(frame.astype(np.int16) + field, 0, 255).astype(np.uint8)
