"""``ekyc-kiosk validate-config PATH``: exit 0 when valid, 1 with every problem listed."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("validate-config", help="check a config file")
    p.add_argument("path", help="YAML config file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigValidationError, load_config

    try:
        load_config(args.path)
    except ConfigValidationError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"{args.path}: OK")
    return 0
