"""``ekyc-kiosk eval-pairs PAIRS --images DIR``: face-matching accuracy on LFW-format pairs.

Runs the kiosk's own still-image pipeline (detect, align, chip, embed, score) on every image the
pairs use, once, and reports for each embedder variant (and dlib's own pipeline with
``--baseline dlib``, a dev-only comparison that needs dlib installed):

* ``accuracy``: 10-fold cross-validated accuracy on the listed pairs (best threshold on 9 folds,
  applied to the 10th);
* ``auc``: ROC AUC; ``tar_at_fmr_1e-2|1e-3|1e-4``: true-accept rate at the threshold whose
  false-match rate is at most 1e-2, 1e-3, 1e-4. Both use ALL same-identity image pairs as the
  genuine set and ALL cross-identity pairs as the impostor set (the listed mismatched pairs are
  far too few for low false-match rates);
* ``fte``: images where no face was found (failures to enrol), scored as non-matches.

Exit status: 0 done, 2 unusable input (pairs file, images folder), 1 any other failure.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

VARIANTS = ("int8", "fp16", "fp32")


def parse_models(text: str) -> list[str]:
    """``int8`` / ``int8,fp32`` / ``all`` -> list of variants (order kept, no duplicates)."""
    if text.strip() == "all":
        return list(VARIANTS)
    out: list[str] = []
    for t in text.split(","):
        t = t.strip()
        if t not in VARIANTS:
            raise argparse.ArgumentTypeError(f"unknown model {t!r}: choose from {', '.join(VARIANTS)} or all")
        if t not in out:
            out.append(t)
    return out


def add_pairs_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("pairs", type=Path, help="LFW-format pairs file ('Name i j' / 'NameA i NameB j' lines)")
    p.add_argument("--images", type=Path, required=True, help="folder holding Name/Name_000i.jpg images")
    p.add_argument(
        "--head", type=int, default=None, metavar="N", help="only the first N matched and N mismatched pairs"
    )
    p.add_argument(
        "--min-face-px",
        type=int,
        default=60,
        help="smallest face searched for (px; 60 suits LFW's 250 px crops, lower finds smaller faces slower)",
    )
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config file (embedder threads); default config/default.yaml",
    )


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "eval-pairs",
        help="face-matching accuracy on LFW-format pairs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_pairs_arguments(p)
    p.add_argument(
        "--model", type=parse_models, default=["int8"], help="int8|fp16|fp32, a comma list, or all"
    )
    p.add_argument(
        "--baseline", choices=["dlib"], default=None, help="also run dlib's own pipeline (needs dlib)"
    )
    p.add_argument(
        "--points",
        choices=["mapped", "raw", "dlib"],
        default="mapped",
        help="five points for the chips: mapped (the kiosk's), raw mesh vertices, or dlib's predictor (dev)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def load_pairs_and_images(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    from kiosk.errors import InputError
    from kiosk.eval.pairs import load_pairs

    if not args.images.is_dir():
        raise InputError(f"images folder not found: {args.images}", code="images_missing")
    pf = load_pairs(args.pairs)
    if args.head:
        pf = pf.head(args.head)
    refs = pf.images()
    present = sum(1 for r in refs if r.path(args.images).is_file())
    if present == 0:
        raise InputError(
            f"none of the {len(refs)} images is under {args.images} (expected e.g. {refs[0].relpath})",
            code="images_missing",
        )
    return pf, refs


def _fmt_pct(v: float | None) -> str:
    return "   n/a" if v is None else f"{100 * v:6.2f}"


def print_table(pf: Any, results: dict[str, dict[str, Any]], out: Any = sys.stdout) -> None:
    any_r = next(iter(results.values()))
    print(
        f"{Path(pf.source).name}: {pf.n_matched} matched + {pf.n_mismatched} mismatched pairs, "
        f"{any_r['n_images']} images",
        file=out,
    )
    print(
        f"{'system':<8} {'accuracy %':>14} {'AUC':>8} "
        f"{'TAR@1e-2':>9} {'TAR@1e-3':>9} {'TAR@1e-4':>9} {'FTE':>4}",
        file=out,
    )
    for name, r in results.items():
        acc = f"{100 * r['accuracy']:.2f}±{100 * r['accuracy_std']:.2f}"
        print(
            f"{name:<8} {acc:>14} {r['auc']:8.5f} {_fmt_pct(r['tar_at_fmr_1e-2']):>9} "
            f"{_fmt_pct(r['tar_at_fmr_1e-3']):>9} {_fmt_pct(r['tar_at_fmr_1e-4']):>9} {r['fte']:>4}",
            file=out,
        )
    print(
        f"TAR/AUC over all {any_r['n_genuine']} same-person and {any_r['n_impostor']} "
        "cross-person image pairs; "
        "accuracy: 10-fold CV on the listed pairs.",
        file=out,
    )
    print("FTE (no face found) pairs are scored as non-matches (distance +inf).", file=out)
    if "accuracy_common_pairs" in any_r:
        common = ", ".join(f"{n} {100 * r['accuracy_common_pairs']:.2f} %" for n, r in results.items())
        print(
            f"Accuracy on the {any_r['n_common_pairs']} listed pairs every system enrolled: {common}",
            file=out,
        )
    for name, r in results.items():
        if r["fte_images"]:
            shown = ", ".join(r["fte_images"][:8]) + (" ..." if len(r["fte_images"]) > 8 else "")
            print(f"  {name} FTE: {shown}", file=out)


def run(args: argparse.Namespace) -> int:
    from kiosk.errors import InputError, KioskError

    try:
        return _run(args)
    except InputError as exc:
        print(f"eval-pairs: {exc.message} [{exc.code}]", file=sys.stderr)
        return 2
    except KioskError as exc:
        print(f"eval-pairs: {exc.message} [{exc.code}]", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    import numpy as np

    from kiosk.config import load_config
    from kiosk.eval.runner import dlib_pipeline, embed_chips, extract_chips, score_system
    from kiosk.verifier import load_embedder

    cfg = load_config(args.config)
    pf, refs = load_pairs_and_images(args)
    systems: dict[str, tuple[Any, Any, dict[int, str]]] = {}
    cs = extract_chips(refs, args.images, points=args.points, min_face_px=args.min_face_px)
    for variant in args.model:
        emb_model = load_embedder(variant, cfg.face.match.num_threads)
        try:
            systems[variant] = (embed_chips(cs, emb_model.embed, variant), cs.enrolled, cs.reasons)
        finally:
            closer = getattr(emb_model, "close", None)
            if callable(closer):
                closer()
    if args.baseline == "dlib":
        systems["dlib"] = dlib_pipeline(refs, args.images)
    common = None
    if len(systems) > 1:
        common = np.logical_and.reduce([enrolled for _, enrolled, _ in systems.values()])
    results = {
        name: score_system(pf, refs, emb, enrolled, reasons, common=common)
        for name, (emb, enrolled, reasons) in systems.items()
    }
    if args.json:
        first = results[args.model[0]]
        doc: dict[str, Any] = {
            "pairs": str(args.pairs),
            "model": args.model[0],
            "points": args.points,
            **first,
            "fte_scoring": "no face found: every pair with that image has distance +inf (never a match)",
        }
        if len(results) > 1:
            doc["systems"] = results
        print(json.dumps(doc))
    else:
        print_table(pf, results)
    return 0
