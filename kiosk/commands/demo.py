"""``ekyc-kiosk demo``: what ``make run`` does.

With a camera and a screen it runs the kiosk live (config/laptop.yaml). Without them it plays one complete
session headless: the virtual applicant on real footage when the evaluation data is present, otherwise
the shipped astronaut photo (which liveness must reject). It prints which ran, the decision, and where
the screenshots and the event log went.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
from pathlib import Path

from kiosk.commands.run import add_run_arguments


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="live kiosk with camera and screen, else a headless demo session")
    add_run_arguments(p)
    p.add_argument("--out", type=Path, default=Path("out/demo"), help="folder for screenshots and events")
    p.add_argument("--live", action="store_true", help="force the live kiosk")
    p.add_argument("--simulate", action="store_true", help="force the headless demo")
    p.set_defaults(func=run)


def has_camera() -> bool:
    return bool(glob.glob("/dev/video[0-9]*"))


def has_screen() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(args: argparse.Namespace) -> int:
    from kiosk.commands.run import run_kiosk
    from kiosk.config import ConfigValidationError, load_config
    from kiosk.paths import REPO_DIR, data_dir

    live = args.live or (not args.simulate and has_camera() and has_screen())
    if live:
        what = "live kiosk (webcam and screen)"
        cfg_path = args.config or REPO_DIR / "config" / "laptop.yaml"
    else:
        cfg_path = args.config or REPO_DIR / "config" / "demo.yaml"
        args.headless = True
        if args.sessions is None:
            args.sessions = 1
        if args.source is None:
            if data_dir() is not None:
                args.source = f"actor:{REPO_DIR / 'config' / 'scenarios' / 'krzysiek.yaml'}"
                what = f"virtual applicant on real footage ({data_dir()}/liveness_videos2/webcam_krzysiek)"
            else:
                args.source = "actor:astronaut"
                what = (
                    "simulated applicant from shipped media only (scikit-image's public-domain astronaut "
                    "photo on a generated ID card; a photo, so liveness should reject it)"
                )
        else:
            what = f"source {args.source}"
        if args.seed is None:
            args.seed = 7
        if args.realtime is None:
            args.realtime = False
        out: Path = args.out
        if args.screenshots is None:
            args.screenshots = out / "screenshots"
        if args.events is None:
            args.events = str(out / "events.jsonl")
    try:
        cfg = load_config(cfg_path)
    except ConfigValidationError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"ekyc-kiosk demo: {what}", flush=True)
    code, app = run_kiosk(args, cfg)
    for rec in app.records:
        print(
            json.dumps(
                {
                    "decision": rec.get("decision"),
                    "reasons": rec.get("reasons"),
                    "match": rec.get("match"),
                    "record_id": rec.get("record_id"),
                },
                default=str,
            )
        )
    if not live:
        print(f"screenshots: {args.screenshots}  ({len(getattr(app.display, 'screenshots', []) or [])} PNGs)")
        print(f"events: {args.events}")
        print(f"audit log: {cfg.records.data_dir} (verify with: ekyc-kiosk audit verify --config {cfg_path})")
        if not app.records:
            print("no decision was reached", file=sys.stderr)
            return 1
    return code
