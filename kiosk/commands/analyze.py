"""``ekyc-kiosk analyze VIDEO [--json] [--mirrored]``: per-frame liveness signals and an event timeline.

Text output: one line of signals per frame, then the timeline (blink, eyes_closed_long, smile,
turn_left, turn_right, nod, mouth_open, no_face, multiple_faces) with start and end seconds.
``--json``: ``{"fps", "frames", "events": [{"event", "start_s", "end_s", ...}], "signals": [...], ...}``.

Turn events are named for the applicant's OWN side; ``image_direction`` gives the image side
(``nose_to_image_left``/``nose_to_image_right``). Without ``--mirrored`` the video is taken as a
plain camera recording: a nose pointing to the image's right is the person's own left.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_UNUSABLE = 2


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("analyze", help="per-frame liveness signals and an event timeline for a video")
    p.add_argument("video", help="video file: mp4, avi, mov, mpg, gif ...")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument(
        "--mirrored", action="store_true", help="the video is a mirror image (selfie-preview recording)"
    )
    p.add_argument("--no-signals", action="store_true", help="leave the per-frame signals out")
    p.add_argument("--start", type=float, default=0.0, metavar="S", help="analyse from this time (s)")
    p.add_argument("--end", type=float, default=None, metavar="S", help="... up to this time (s)")
    p.add_argument("--config", default=None, help="kiosk config YAML (liveness thresholds); default built-in")
    p.set_defaults(func=run)


def _load_cfg(path: str | None):  # type: ignore[no-untyped-def]
    from kiosk.config.liveness import LivenessConfig

    if path is None:
        return LivenessConfig()
    from kiosk.config import load_config

    return load_config(path).liveness


def _fmt(v: float | int | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def run(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigValidationError
    from kiosk.errors import KioskError
    from kiosk.liveness.analysis import analyze_video

    if args.end is not None and args.end <= args.start:
        print("analyze: --end must be after --start", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        cfg = _load_cfg(args.config)
        res = analyze_video(args.video, cfg, mirrored=args.mirrored, start_s=args.start, end_s=args.end)
    except ConfigValidationError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_UNUSABLE
    except KioskError as exc:
        print(f"analyze: {exc.message} [{exc.code}]", file=sys.stderr)
        return EXIT_UNUSABLE
    if res.frames == 0:
        print(f"analyze: no frames in {args.video} for the requested time range", file=sys.stderr)
        return EXIT_UNUSABLE
    if args.json:
        print(json.dumps(res.to_json(with_signals=not args.no_signals), indent=1))
        return EXIT_OK
    print(
        f"{args.video}: {res.frames} frames, {res.fps:.2f} fps, {res.duration_s:.2f} s, "
        f"{res.width}x{res.height}, {'mirrored' if res.mirrored else 'not mirrored'}"
    )
    if not args.no_signals:
        print(" t_s  faces  eye_open  blink  smile   jaw  gap    yaw   pitch   roll  planar  deform")
        for s in res.signals:
            print(
                f"{s.t_s:6.2f} {s.face_count:3d}  {_fmt(s.eye_open, '7.3f')}  {_fmt(s.eye_blink, '5.2f')}  "
                f"{_fmt(s.smile, '5.2f')} {_fmt(s.jaw_open, '5.2f')} {_fmt(s.mouth_gap, '4.2f')} "
                f"{_fmt(s.yaw_deg, '6.1f')} {_fmt(s.pitch_deg, '6.1f')} {_fmt(s.roll_deg, '6.1f')}  "
                f"{_fmt(s.planar_residual, '6.3f')}  {_fmt(s.deform, '6.3f')}"
            )
    if res.baseline is not None:
        b = res.baseline
        print(
            f"baseline: eye_open {b.eye_open:.3f}, smile {b.smile:.2f}, jaw {b.jaw_open:.2f}, "
            f"yaw {b.yaw_deg:.1f}, pitch {b.pitch_deg:.1f} (degrees)"
        )
    print("events (turns: the person's own side; image side in brackets):")
    if not res.events:
        print("  none")
    for e in res.events:
        extra = f" [{e.image_direction}]" if e.image_direction else ""
        print(f"  {e.start_s:7.2f} - {e.end_s:7.2f}  {e.event}{extra}  peak {e.peak:.2f}")
    return EXIT_OK
