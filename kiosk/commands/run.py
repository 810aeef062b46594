"""``ekyc-kiosk run``: the kiosk itself (live camera and screen, or a simulated source)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None, help="YAML config (default: config/default.yaml)")
    p.add_argument(
        "--source",
        default=None,
        help="camera URI overriding config: opencv:N, picamera2, gst:PIPELINE, file:PATH, dir:PATH, "
        "actor:SCENARIO.yaml",
    )
    p.add_argument("--id-image", type=Path, default=None, help="ID document image: plays the upload path")
    p.add_argument("--headless", action="store_true", help="no screen; attract and consent are accepted")
    p.add_argument(
        "--events", default=None, help="append one JSON line per session event to FILE ('-': stdout)"
    )
    p.add_argument("--screenshots", type=Path, default=None, help="save a PNG at every scene change into DIR")
    p.add_argument("--sessions", type=int, default=None, help="stop after N sessions")
    p.add_argument("--seed", type=int, default=None, help="base seed of the per-session random challenges")
    p.add_argument(
        "--realtime",
        dest="realtime",
        action="store_true",
        default=None,
        help="pace replayed media at its own rate",
    )
    p.add_argument("--fast", dest="realtime", action="store_false", help="replay media as fast as possible")
    p.add_argument("--max-seconds", type=float, default=None, help="stop after this many wall-clock seconds")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="run the kiosk")
    add_run_arguments(p)
    p.set_defaults(func=run)


def run_kiosk(args: argparse.Namespace, cfg: Any) -> tuple[int, Any]:
    """Build and run the app with signal handling; returns (exit code, app)."""
    from kiosk.app import KioskApp, RunOptions
    from kiosk.errors import KioskError
    from kiosk.platform.notify import notify_stopping

    opts = RunOptions(
        source=args.source,
        id_image=args.id_image,
        headless=args.headless,
        events_path=args.events,
        screenshots_dir=args.screenshots,
        sessions=args.sessions,
        seed=args.seed,
        realtime=args.realtime,
        max_wall_s=args.max_seconds,
    )
    app = KioskApp(cfg, opts)

    def on_term(signum: int, _frame: Any) -> None:
        notify_stopping()
        app.stop_requested = True

    if args.config is not None:
        from kiosk.platform.reload import ConfigReloader

        app.reloader = ConfigReloader(args.config, cfg)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, lambda *_: app.reloader.request())

    signal.signal(signal.SIGTERM, on_term)
    try:
        app.build()
        code = app.run()
    except KioskError as exc:
        print(f"ekyc-kiosk: cannot run: {exc.message}", file=sys.stderr)
        app.close()
        return 1, app
    app.close()
    return code, app


def run(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigValidationError, load_config

    try:
        cfg = load_config(args.config)
    except ConfigValidationError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    code, app = run_kiosk(args, cfg)
    for rec in app.records:
        print(
            json.dumps(
                {
                    "session_id": rec.get("session_id"),
                    "decision": rec.get("decision"),
                    "reasons": rec.get("reasons"),
                }
            )
        )
    return code
