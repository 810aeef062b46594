"""``ekyc-kiosk`` entry point: argparse sub-commands, each in its own module under ``kiosk.commands``.

A command module defines ``register(subparsers)`` (adds its parser and sets ``func``) and is only
imported when the command line names it, so ``ekyc-kiosk validate-config`` never loads mediapipe.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from kiosk import __version__

log = logging.getLogger(__name__)

# command name -> module under kiosk.commands, and a one-line help.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "run the kiosk (live camera and screen, or a simulated source)"),
    "demo": ("demo", "play a complete headless demo session (what `make run` does with no camera/screen)"),
    "validate-config": ("validate_config", "check a config file; errors name the key and YAML line"),
    "verify": ("verify", "match an ID image against a selfie"),
    "document": ("document", "find and crop the portrait on an ID document image"),
    "analyze": ("analyze", "per-frame liveness signals and an event timeline for a video"),
    "eval-pairs": ("eval_pairs", "face-matching accuracy on LFW-format pairs"),
    "calibrate": ("calibrate", "pick the match threshold for a target false-match rate"),
    "bench": ("bench", "measure every stage against baselines"),
    "doctor": ("doctor", "check camera, display, models, config, disk and clock"),
    "audit": ("audit", "verify the signed, hash-chained audit log"),
}

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_UNUSABLE = 2


def _build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ekyc-kiosk", description="On-device eKYC kiosk")
    parser.add_argument("--version", action="version", version=f"ekyc-kiosk {__version__}")
    parser.add_argument("--log-level", default=None, choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in COMMANDS.items():
        if wanted == name:
            mod = importlib.import_module(f"kiosk.commands.{module}")
            mod.register(sub)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser(args_list)
    args = parser.parse_args(args_list)
    logging.basicConfig(
        level=getattr(logging, args.log_level or "WARNING"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_UNUSABLE
    try:
        return int(func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
