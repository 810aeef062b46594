"""Presentation attacks built at run time from still photos, for evaluation and tests.

A photo is treated as a flat card in front of a pinhole camera (640x480 by default): it is placed on
a smooth random background, and its 3-D pose (yaw, pitch, roll, position, distance) follows a
trajectory; every frame gets sensor noise. Kinds:

* ``static``: the card does not move (a photo on a stand).
* ``handheld``: small tremor of a hand-held photo (a few degrees, a few pixels).
* ``moved``: random affine and perspective motion -- swings of up to +-45 deg yaw, +-40 deg pitch
  (foreshortening the eyes), +-25 deg roll, shifts and distance changes, each held briefly.
* ``swing``: what an attacker tries first against turn and nod prompts: the card turned 40 deg one
  way and the other about its vertical axis, then tilted 35 deg back and forth, repeatedly.

Nothing here is used by the kiosk at run time.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

ATTACK_KINDS = ("static", "handheld", "moved", "swing")


@dataclass(frozen=True)
class CardPose:
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    tx: float = 0.0  # metres, card centre offset from the optical axis
    ty: float = 0.0
    dist: float = 1.0  # metres


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    y, p, r = (math.radians(v) for v in (yaw, pitch, roll))
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


def card_homography(
    photo_wh: tuple[int, int], pose: CardPose, out_wh: tuple[int, int], *, focal_px: float, height_frac: float
) -> np.ndarray:
    """3x3 homography from photo pixels to frame pixels for a card whose height at 1 m fills
    ``height_frac`` of the frame."""
    import cv2

    w, h = photo_wh
    card_h = out_wh[1] * height_frac / focal_px
    card_w = card_h * w / h
    corners = np.array(
        [
            [-card_w / 2, -card_h / 2, 0],
            [card_w / 2, -card_h / 2, 0],
            [card_w / 2, card_h / 2, 0],
            [-card_w / 2, card_h / 2, 0],
        ]
    )
    pts = corners @ _rotation(pose.yaw_deg, pose.pitch_deg, pose.roll_deg).T + np.array(
        [pose.tx, pose.ty, pose.dist]
    )
    uv = np.stack(
        [focal_px * pts[:, 0] / pts[:, 2] + out_wh[0] / 2, focal_px * pts[:, 1] / pts[:, 2] + out_wh[1] / 2],
        axis=1,
    ).astype(np.float32)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    return cv2.getPerspectiveTransform(src, uv)


def _background(rng: np.random.Generator, out_wh: tuple[int, int]) -> np.ndarray:
    import cv2

    small = rng.integers(40, 200, size=(6, 8, 3)).astype(np.uint8)
    return cv2.resize(small, out_wh, interpolation=cv2.INTER_CUBIC)


def _trajectory(kind: str, rng: np.random.Generator, duration_s: float) -> list[tuple[float, CardPose]]:
    """Keyframes (time, pose); poses in between are eased."""
    if kind == "static":
        return [(0.0, CardPose()), (duration_s, CardPose())]
    keys: list[tuple[float, CardPose]] = [(0.0, CardPose())]
    t = 0.0
    if kind == "handheld":
        while t < duration_s:
            t += float(rng.uniform(0.3, 0.8))
            keys.append(
                (
                    t,
                    CardPose(
                        yaw_deg=float(rng.normal(0, 2.0)),
                        pitch_deg=float(rng.normal(0, 2.0)),
                        roll_deg=float(rng.normal(0, 1.5)),
                        tx=float(rng.normal(0, 0.004)),
                        ty=float(rng.normal(0, 0.004)),
                        dist=1.0 + float(rng.normal(0, 0.01)),
                    ),
                )
            )
        return keys
    if kind == "swing":
        t = 1.0
        keys.append((t, CardPose()))
        poses = [CardPose(yaw_deg=40), CardPose(yaw_deg=-40), CardPose(pitch_deg=35), CardPose(pitch_deg=-35)]
        while t < duration_s:
            for p in poses:
                t += 0.7
                keys.append((t, p))
                t += 0.4
                keys.append((t, p))
                t += 0.7
                keys.append((t, CardPose()))
        return keys
    if kind != "moved":
        raise ValueError(f"unknown attack kind {kind!r} (have {', '.join(ATTACK_KINDS)})")
    # Start still for a moment (the attacker waits for the prompt), then swing.
    t = 1.0
    keys.append((t, CardPose()))
    while t < duration_s:
        t += float(rng.uniform(0.5, 1.3))
        move = rng.choice(["yaw", "pitch", "roll", "shift", "mix"])
        p = CardPose()
        if move == "yaw":
            p = CardPose(yaw_deg=float(rng.choice([-1, 1]) * rng.uniform(20, 45)))
        elif move == "pitch":
            p = CardPose(pitch_deg=float(rng.choice([-1, 1]) * rng.uniform(20, 40)))
        elif move == "roll":
            p = CardPose(roll_deg=float(rng.uniform(-25, 25)))
        elif move == "shift":
            p = CardPose(
                tx=float(rng.uniform(-0.12, 0.12)),
                ty=float(rng.uniform(-0.06, 0.06)),
                dist=float(rng.uniform(0.8, 1.2)),
            )
        else:
            p = CardPose(
                yaw_deg=float(rng.uniform(-30, 30)),
                pitch_deg=float(rng.uniform(-25, 25)),
                roll_deg=float(rng.uniform(-15, 15)),
                tx=float(rng.uniform(-0.05, 0.05)),
                ty=float(rng.uniform(-0.04, 0.04)),
                dist=float(rng.uniform(0.85, 1.15)),
            )
        keys.append((t, p))
        # hold, then usually come back toward the start (like answering a prompt)
        t += float(rng.uniform(0.2, 0.6))
        keys.append((t, p))
        if rng.random() < 0.6:
            t += float(rng.uniform(0.3, 0.8))
            keys.append((t, CardPose()))
    return keys


def _pose_at(keys: list[tuple[float, CardPose]], t: float) -> CardPose:
    for (t0, a), (t1, b) in itertools.pairwise(keys):
        if t0 <= t <= t1:
            u = 0.5 - 0.5 * math.cos(math.pi * (t - t0) / max(t1 - t0, 1e-6))
            return CardPose(*(va + (vb - va) * u for va, vb in zip(a.__dict__.values(), b.__dict__.values())))
    return keys[-1][1]


def portrait_crop(rgb: np.ndarray, box: tuple[float, float, float, float], scale: float = 2.4) -> np.ndarray:
    """A head-and-shoulders print of the face in ``box`` (x, y, w, h): a square ``scale`` times the
    face size around it, clipped to the photo (what an attacker prints to fill the camera)."""
    x, y, w, h = box
    side = scale * max(w, h)
    cx, cy = x + w / 2.0, y + h / 2.0 + 0.1 * h
    x0, y0 = max(0, int(cx - side / 2)), max(0, int(cy - side / 2))
    x1, y1 = min(rgb.shape[1], int(cx + side / 2)), min(rgb.shape[0], int(cy + side / 2))
    return np.ascontiguousarray(rgb[y0:y1, x0:x1])


def photo_attack_frames(
    photo_rgb: np.ndarray,
    kind: str,
    rng: np.random.Generator,
    *,
    duration_s: float = 10.0,
    fps: float = 15.0,
    out_wh: tuple[int, int] = (640, 480),
    noise_sigma: float = 2.0,
    height_frac: float = 0.75,
) -> Iterator[tuple[np.ndarray, float]]:
    """Yield (rgb frame, t_s) of a photo presented as ``kind`` (see the module docstring)."""
    import cv2

    if photo_rgb.ndim != 3 or photo_rgb.shape[2] != 3:
        raise ValueError("photo must be HxWx3 RGB")
    keys = _trajectory(kind, rng, duration_s)
    bg = _background(rng, out_wh)
    focal = float(out_wh[0])
    h, w = photo_rgb.shape[:2]
    n = round(duration_s * fps)
    for i in range(n):
        t = i / fps
        hmat = card_homography((w, h), _pose_at(keys, t), out_wh, focal_px=focal, height_frac=height_frac)
        frame = cv2.warpPerspective(photo_rgb, hmat, out_wh, dst=bg.copy(), borderMode=cv2.BORDER_TRANSPARENT)
        if noise_sigma > 0:
            frame = np.clip(
                frame.astype(np.float32) + rng.normal(0.0, noise_sigma, frame.shape), 0, 255
            ).astype(np.uint8)
        yield frame, t
