"""Drawing the actor's frames: hand tremor, a tilted photo, an ID card held up, a second face,
camera noise. Everything is a pure function of its inputs (and a seeded generator), so a scenario
replays identically.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

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


#: ID-1 corner radius (ISO/IEC 7810: 3.18 mm) in card pixels (10 px/mm).
CARD_CORNER_RADIUS_PX = 32
#: Horizontal field of view of the simulated webcam (degrees): sets how strong the perspective is.
CAMERA_HFOV_DEG = 60.0
_SKIN_RGB = (206, 160, 138)


@dataclass(frozen=True)
class HoldStyle:
    """How a hand holds a card up to the camera; the defaults look like a real applicant's.

    ``yaw_deg`` / ``pitch_deg``: the card turned about its vertical / horizontal axis (> 0: the right /
    bottom edge away from the camera), so its outline is a true perspective quadrilateral.
    ``blur_px``: length of the hand's motion blur during the exposure, along ``blur_dir_deg``.
    ``shadow``: how much the card and hand darken what is behind them (0..1). ``light``: brightness
    falloff across the card face from its top-left corner (0..1). ``thumb``: the holding hand, a
    thumb over the card's right edge and fingers behind it. ``edge_px`` / ``edge_rgb``: the card's
    thin edge (most cards have a white PVC core), in card pixels.
    """

    yaw_deg: float = -8.0
    pitch_deg: float = 6.0
    blur_px: float = 2.5
    blur_dir_deg: float = 25.0
    shadow: float = 0.2
    light: float = 0.12
    thumb: bool = True
    edge_px: int = 3
    edge_rgb: tuple[int, int, int] = (232, 232, 226)


def card_pose_corners(
    frame_size: tuple[int, int],
    card_size: tuple[int, int],
    width_frac: float,
    dx: float,
    dy: float,
    deg: float,
    yaw_deg: float = 0.0,
    pitch_deg: float = 0.0,
) -> np.ndarray:
    """Where a card's corners (TL, TR, BR, BL, float32 4x2 frame pixels) land when it is held with
    its centre at the frame centre + (dx, dy), turned ``deg`` in the image plane (counter-clockwise
    on screen, as ``cv2.getRotationMatrix2D``), then ``yaw_deg`` / ``pitch_deg`` out of it, at the
    distance where it would be ``width_frac`` of the frame wide seen face-on (pinhole camera of
    :data:`CAMERA_HFOV_DEG`)."""
    w, h = frame_size
    cw, ch = card_size
    f = (w / 2.0) / math.tan(math.radians(CAMERA_HFOV_DEG) / 2.0)
    z0 = f * cw / (width_frac * w)
    a, ya, pa = math.radians(deg), math.radians(yaw_deg), math.radians(pitch_deg)
    rz = np.array([[math.cos(a), math.sin(a), 0], [-math.sin(a), math.cos(a), 0], [0, 0, 1]])
    ry = np.array([[math.cos(ya), 0, -math.sin(ya)], [0, 1, 0], [math.sin(ya), 0, math.cos(ya)]])
    rx = np.array([[1, 0, 0], [0, math.cos(pa), -math.sin(pa)], [0, math.sin(pa), math.cos(pa)]])
    hw, hh = cw / 2.0, ch / 2.0
    local = np.array([[-hw, -hh, 0], [hw, -hh, 0], [hw, hh, 0], [-hw, hh, 0]], np.float64)
    pts = local @ (rx @ ry @ rz).T + np.array([dx * z0 / f, dy * z0 / f, z0])
    return (f * pts[:, :2] / pts[:, 2:3] + np.array([w / 2.0, h / 2.0])).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _card_face(card_bytes: bytes, shape: tuple[int, int], edge_px: int, edge_rgb: tuple[int, int, int],
               light: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The card face as a camera lights it (float32 RGB) and its rounded-corner coverage (float32 0..1)."""
    import cv2

    ch, cw = shape
    face = np.frombuffer(card_bytes, np.uint8).reshape(ch, cw, 3).astype(np.float32)
    yy, xx = np.mgrid[0:ch, 0:cw].astype(np.float32)
    face *= (1.0 - light * (xx / cw + yy / ch) / 2.0)[..., None]  # light from the top left
    # Rounded corners, drawn at 4x and reduced so the outline is anti-aliased.
    s, r = 4, CARD_CORNER_RADIUS_PX
    big = np.zeros((ch * s, cw * s), np.uint8)
    cv2.rectangle(big, (r * s, 0), ((cw - r) * s - 1, ch * s - 1), 255, -1)
    cv2.rectangle(big, (0, r * s), (cw * s - 1, (ch - r) * s - 1), 255, -1)
    for cx, cy in ((r, r), (cw - r, r), (cw - r, ch - r), (r, ch - r)):
        cv2.circle(big, (cx * s, cy * s), r * s, 255, -1)
    alpha = cv2.resize(big, (cw, ch), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    if edge_px > 0:  # the thin edge: a band of the card's core colour just inside the outline
        inner = cv2.erode(alpha, np.ones((2 * edge_px + 1, 2 * edge_px + 1), np.uint8))
        band = (alpha - inner)[..., None]
        face = face * (1.0 - band) + np.array(edge_rgb, np.float32) * band
    face.setflags(write=False)
    alpha.setflags(write=False)
    return face, alpha


def _ellipse_poly(cx: float, cy: float, ax: float, ay: float, angle_deg: float) -> np.ndarray:
    t = np.linspace(0, 2 * math.pi, 48, endpoint=False)
    a = math.radians(angle_deg)
    x, y = ax * np.cos(t), ay * np.sin(t)
    return np.stack([cx + x * math.cos(a) - y * math.sin(a), cy + x * math.sin(a) + y * math.cos(a)], 1)


def _skin_layer(
    hmat: np.ndarray, polys: list[np.ndarray], size: tuple[int, int]
) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray] | None:
    """Skin-coloured shapes given in card pixels, drawn through ``hmat`` into an image of ``size``
    (w, h): their bounding box (x, y, w, h) there and, inside it, their RGB and alpha (float32)."""
    import cv2

    w, h = size
    pts = [
        cv2.perspectiveTransform(p.reshape(-1, 1, 2).astype(np.float64), hmat).reshape(-1, 2) for p in polys
    ]
    allp = np.concatenate(pts)
    x0, y0 = max(0, int(allp[:, 0].min()) - 1), max(0, int(allp[:, 1].min()) - 1)
    x1, y1 = min(w, int(allp[:, 0].max()) + 2), min(h, int(allp[:, 1].max()) + 2)
    if x1 <= x0 or y1 <= y0:
        return None
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for p in pts:
        cv2.fillPoly(mask, [np.round((p - [x0, y0]) * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    alpha = mask.astype(np.float32) / 255.0
    k = max(3, (min(w, h) // 20) | 1)
    shade = cv2.GaussianBlur(alpha, (k, k), 0)  # rounder, darker toward the outline
    rgb = np.array(_SKIN_RGB, np.float32)[None, None, :] * (0.72 + 0.28 * shade)[..., None]
    return (x0, y0, x1 - x0, y1 - y0), rgb, alpha


def hold_up(
    background: np.ndarray,
    card: np.ndarray,
    width_frac: float,
    dx: float,
    dy: float,
    deg: float,
    style: HoldStyle | None = None,
) -> np.ndarray:
    """``card`` (RGB) held up in front of ``background``: ``width_frac`` of the frame wide (seen
    face-on), centred, moved by (dx, dy) px and turned ``deg`` (hand tremor), seen in perspective
    with rounded corners, a thin edge, uneven light, a soft shadow, the holding hand and motion blur
    (see :class:`HoldStyle`). Returns a new frame."""
    import cv2

    st = style or HoldStyle()
    h, w = background.shape[:2]
    ch, cw = card.shape[:2]
    face, coverage = _card_face(
        np.ascontiguousarray(card).tobytes(), (ch, cw), st.edge_px, st.edge_rgb, st.light
    )
    corners = card_pose_corners((w, h), (cw, ch), width_frac, dx, dy, deg, st.yaw_deg, st.pitch_deg)
    # Work only in the region the card, the hand, the shadow and the blur can touch.
    pad = 0.16 * max(w, h) + st.blur_px
    x0 = int(max(0, math.floor(corners[:, 0].min() - pad)))
    y0 = int(max(0, math.floor(corners[:, 1].min() - pad)))
    x1 = int(min(w, math.ceil(corners[:, 0].max() + pad)))
    y1 = int(min(h, math.ceil(corners[:, 1].max() + pad)))
    if x1 <= x0 or y1 <= y0:
        return background.copy()
    rw, rh = x1 - x0, y1 - y0
    src = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], np.float32)
    hmat = cv2.getPerspectiveTransform(src, corners - np.array([x0, y0], np.float32))

    # The moving layer (premultiplied colour + coverage): fingers behind, card, thumb in front.
    lay: np.ndarray = np.zeros((rh, rw, 3), np.float32)
    cov: np.ndarray = np.zeros((rh, rw), np.float32)

    def skin(poly: np.ndarray) -> None:
        drawn = _skin_layer(hmat, [poly], (rw, rh))
        if drawn is not None:
            (x, y, bw, bh), rgb, a = drawn
            a3 = a[..., None]
            lay[y : y + bh, x : x + bw] = rgb * a3 + lay[y : y + bh, x : x + bw] * (1.0 - a3)
            cov[y : y + bh, x : x + bw] = a + cov[y : y + bh, x : x + bw] * (1.0 - a)

    if st.thumb:  # fingers behind the card
        skin(_ellipse_poly(cw * 1.0, ch * 0.86, cw * 0.09, ch * 0.28, -15.0))
    a_card = cv2.warpPerspective(coverage, hmat, (rw, rh), flags=cv2.INTER_LINEAR, borderValue=0)
    c_card = cv2.warpPerspective(face, hmat, (rw, rh), flags=cv2.INTER_AREA, borderValue=(0, 0, 0))
    lay = c_card * a_card[..., None] + lay * (1.0 - a_card[..., None])
    cov = a_card + cov * (1.0 - a_card)
    if st.thumb:  # the thumb in front
        skin(_ellipse_poly(cw * 0.995, ch * 0.66, cw * 0.07, ch * 0.095, -8.0))

    bg = background[y0:y1, x0:x1].astype(np.float32)
    if st.shadow > 0:
        # The card is near the camera and far from what is behind it: its shadow there is wide and soft.
        # Blurred at 1/8 scale: the same soft shadow for a fraction of the work.
        m = np.array([[1 / 8, 0, 0.01 * w / 8], [0, 1 / 8, 0.05 * h / 8]], np.float32)
        sw, sh = max(1, rw // 8), max(1, rh // 8)
        small = cv2.warpAffine(cov, m, (sw, sh), flags=cv2.INTER_AREA, borderValue=0)
        k = max(3, (max(sw, sh) // 4) | 1)
        shade = cv2.resize(cv2.GaussianBlur(small, (k, k), 0), (rw, rh), interpolation=cv2.INTER_LINEAR)
        bg *= (1.0 - st.shadow * shade)[..., None]
    if st.blur_px >= 1.0:
        n = math.ceil(st.blur_px) | 1
        kern = np.zeros((n, n), np.float32)
        a = math.radians(st.blur_dir_deg)
        c = (n - 1) / 2.0
        cv2.line(
            kern,
            (round(c - c * math.cos(a)), round(c - c * math.sin(a))),
            (round(c + c * math.cos(a)), round(c + c * math.sin(a))),
            1.0,
            1,
            cv2.LINE_AA,
        )
        kern /= kern.sum()
        lay = cv2.filter2D(lay, -1, kern, borderType=cv2.BORDER_CONSTANT)
        cov = cv2.filter2D(cov, -1, kern, borderType=cv2.BORDER_CONSTANT)
    out = background.copy()
    out[y0:y1, x0:x1] = np.clip(lay + bg * (1.0 - cov[..., None]) + 0.5, 0, 255).astype(np.uint8)
    return out


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
