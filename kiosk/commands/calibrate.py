"""``ekyc-kiosk calibrate PAIRS --images DIR --fmr 1e-3 [--model int8] [--write]``.

Picks the match threshold for a target false-match rate from the genuine (all same-person image
pairs) and impostor (all cross-person image pairs) distance distributions of the kiosk's own
pipeline, with an identity-bootstrap confidence interval (seeded). ``--write`` stores it in
``models/manifest.json`` at ``face_embedder.thresholds.calibrated[<model>]["fmr_<x>"]``, where the
kiosk reads it when ``face.match.threshold`` is null.

Exit status: 0 done, 2 unusable input (pairs file, images, too few pairs), 1 any other failure.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from kiosk.errors import InputError, KioskError

log = logging.getLogger(__name__)


def _fmrs(text: str) -> list[float]:
    """``1e-3`` or a comma list ``1e-2,1e-3,1e-4``."""
    out = []
    for t in text.split(","):
        try:
            v = float(t)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {t!r}") from None
        if not 0.0 < v < 1.0:
            raise argparse.ArgumentTypeError("the false-match rate must be between 0 and 1 (e.g. 1e-3)")
        out.append(v)
    return out


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from kiosk.commands.eval_pairs import add_pairs_arguments, parse_models

    p = sub.add_parser(
        "calibrate",
        help="pick the match threshold for a target false-match rate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_pairs_arguments(p)
    p.add_argument(
        "--fmr",
        type=_fmrs,
        default=[1e-3],
        help="target false-match rate (default 1e-3; a comma list is allowed)",
    )
    p.add_argument(
        "--model",
        type=parse_models,
        default=["int8"],
        help="int8 (default), fp16, fp32, a comma list, or all",
    )
    p.add_argument(
        "--bootstrap", type=int, default=1000, metavar="N", help="bootstrap replicates (default 1000)"
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--write", action="store_true", help="store the result in models/manifest.json")
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except InputError as exc:
        print(f"calibrate: {exc.message} [{exc.code}]", file=sys.stderr)
        return 2
    except KioskError as exc:
        print(f"calibrate: {exc.message} [{exc.code}]", file=sys.stderr)
        return 1


def data_label(pairs: Path, n_images: int, n_ids: int, head: int | None) -> str:
    from kiosk.paths import data_dir

    p = pairs.resolve()
    d = data_dir()
    name = str(p.relative_to(d.resolve())) if d is not None and p.is_relative_to(d.resolve()) else p.name
    subset = f" (first {head} matched + {head} mismatched pairs)" if head else ""
    return f"{name}{subset}: {n_images} images of {n_ids} people, all image pairs"


def _run(args: argparse.Namespace) -> int:
    from kiosk.commands.eval_pairs import load_pairs_and_images
    from kiosk.config import load_config
    from kiosk.eval.calibration import calibrate, write_calibration
    from kiosk.eval.runner import distances, embed_chips, extract_chips
    from kiosk.models import MANIFEST_NAME
    from kiosk.paths import models_dir
    from kiosk.perception.match import fmr_key
    from kiosk.verifier import load_embedder

    if args.bootstrap < 10:
        raise InputError("--bootstrap needs at least 10 replicates", code="bad_argument")
    cfg = load_config(args.config)
    _pf, refs = load_pairs_and_images(args)
    cs = extract_chips(refs, args.images, min_face_px=args.min_face_px)
    label = data_label(args.pairs, len(refs), len({r.name for r in refs}), args.head)
    for variant in args.model:
        model = load_embedder(variant, cfg.face.match.num_threads)
        try:
            emb = embed_chips(cs, model.embed, variant)
        finally:
            closer = getattr(model, "close", None)
            if callable(closer):
                closer()
        dd = distances(refs, emb, cs.enrolled)
        for fmr in args.fmr:
            cal = calibrate(
                dd.dist,
                dd.ids,
                dd.enrolled,
                variant=variant,
                fmr=fmr,
                n_boot=args.bootstrap,
                seed=args.seed,
                data=label,
            )
            record = cal.record(args.seed)
            _report(args, variant, fmr, record)
            if args.write:
                path = models_dir() / MANIFEST_NAME
                write_calibration(path, variant, fmr, record)
                print(
                    f"written to {path}: face_embedder.thresholds.calibrated.{variant}.{fmr_key(fmr)}",
                    file=sys.stderr,
                )
    return 0


def _report(args: argparse.Namespace, variant: str, fmr: float, record: dict[str, Any]) -> None:
    from kiosk.perception.match import fmr_key

    if args.json:
        print(json.dumps({"model": variant, "key": fmr_key(fmr), **record}), flush=True)
        return
    lo, hi = record["ci"]
    tlo, thi = record["tar_ci"]
    print(f"model {variant}, target FMR {fmr:g} ({fmr_key(fmr)})")
    print(
        f"  threshold  {record['threshold']:.4f}  (95% CI {lo:.4f} .. {hi:.4f}, "
        f"identity bootstrap x{args.bootstrap})"
    )
    print(f"  TAR        {100 * record['tar']:.2f} %  (95% CI {100 * tlo:.2f} .. {100 * thi:.2f})")
    print(f"  FMR        {record['fmr_achieved']:.3g} achieved on {record['n_impostor']} impostor pairs")
    print(f"  genuine    {record['n_genuine']} pairs; {record['fte']} image(s) without a face left out")
    print(f"  data       {record['data']}", flush=True)
