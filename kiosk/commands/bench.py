"""``ekyc-kiosk bench [--json] [--quick] [--only NAMES] [--soak N]``: every stage and a whole session
measured against baselines in one process, with pass/fail against the issue's targets.

Stages (``--only`` takes a comma-separated list): ``landmarks`` (FaceLandmarker + liveness per
640x480 frame vs dlib HOG + 5 points), ``document`` (camera document auto-capture per 640x480 frame,
at the configured analysis width and at 480 px), ``embed`` (LiteRT int8/fp16/fp32 at 1 and 2 threads
vs dlib's ResNet), ``verify`` (a whole ID-vs-selfie verify vs dlib's pipeline), ``session`` (a replayed
session as a multiple of real time), ``coldstart`` (process start to the first frame shown, and peak
memory of a whole session in a fresh process). ``--soak N`` adds N back-to-back sessions in one app
(``--only soak`` for the soak alone). Without dlib the baselines are reported unavailable; without the
evaluation data the shipped astronaut photo stands in and the report says which figures are missing.

Exit status: 0 the bench ran (targets met or not: each is reported PASS/FAIL), 1 a stage errored or the
soak failed (or, with ``--strict``, a measured target was missed), 2 bad arguments. Progress goes to
stderr; ``--json`` prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "bench",
        help="measure every stage against baselines",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quick", action="store_true", help="fewer frames and repeats (CI, about 1-2 minutes)")
    p.add_argument(
        "--only", default=None, help="comma-separated: landmarks,document,embed,verify,session,coldstart,soak"
    )
    p.add_argument("--soak", type=int, default=0, metavar="N", help="also run N sessions back to back")
    p.add_argument(
        "--soak-max-minutes", type=float, default=None, help="stop the soak after this many minutes"
    )
    p.add_argument("--seed", type=int, default=11, help="base seed of the soak's sessions (default 11)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a measured target is missed")
    p.add_argument("--out", type=Path, default=None, help="also write the JSON report to this file")
    p.set_defaults(func=run)


def _stages(only: str | None, soak: int) -> tuple[list[str], bool]:
    """Stages to run and whether the soak runs; ValueError on an unknown name."""
    from kiosk.bench.runner import STAGES

    if only is None:
        return list(STAGES), soak > 0
    names = [n.strip() for n in only.split(",") if n.strip()]
    bad = [n for n in names if n not in (*STAGES, "soak")]
    if bad or not names:
        known = ", ".join((*STAGES, "soak"))
        raise ValueError(f"unknown stage(s) {', '.join(bad) or '(none)'}; choose from {known}")
    if "soak" in names and soak <= 0:
        raise ValueError("--only soak needs --soak N (N > 0)")
    return [n for n in STAGES if n in names], "soak" in names or (soak > 0 and not names)


def run(args: argparse.Namespace) -> int:
    from kiosk.bench.report import render_text
    from kiosk.bench.runner import run_bench

    if args.soak < 0:
        print("ekyc-kiosk bench: --soak must be >= 0", file=sys.stderr)
        return 2
    try:
        stages, soak = _stages(args.only, args.soak)
    except ValueError as exc:
        print(f"ekyc-kiosk bench: {exc}", file=sys.stderr)
        return 2
    argv = ["ekyc-kiosk", "bench"] + (["--quick"] if args.quick else []) + (["--json"] if args.json else [])
    argv += [f"--only {args.only}"] if args.only else []
    argv += [f"--soak {args.soak} --seed {args.seed}"] if args.soak else []
    argv += [f"--soak-max-minutes {args.soak_max_minutes:g}"] if args.soak_max_minutes else []
    max_wall = args.soak_max_minutes * 60.0 if args.soak_max_minutes else None
    # Libraries may print to stdout (pygame's banner): keep stdout for the report alone.
    with contextlib.redirect_stdout(sys.stderr):
        rep = run_bench(
            stages,
            quick=args.quick,
            soak_sessions=args.soak if soak else 0,
            soak_max_wall_s=max_wall,
            soak_seed=args.seed,
            command=" ".join(argv),
        )
    text = json.dumps(rep, indent=None if args.json else 2, default=str)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rep, indent=2, default=str) + "\n", encoding="utf-8")
    print(text if args.json else render_text(rep), flush=True)
    failed = bool(rep["errors"]) or (args.strict and any(t["passed"] is False for t in rep["targets"]))
    if "soak" in rep and not rep["soak"]["ok"]:
        failed = True
    return 1 if failed else 0
