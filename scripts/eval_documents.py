#!/usr/bin/env python3
"""Evaluate the document step on shared/data/id_documents.

For every image in ``labels.csv``: run the full still-image document step (outline, rectification,
upright turn, portrait choice) and print one row. Totals:

* found: documents with a portrait on which the step located it (accepted, or refused only for
  being too small or too blurred: the face was found, the rules said no);
* accepted: documents with a portrait whose portrait passed the rules;
* false portraits: documents without a portrait on which a portrait was found.

``--match`` (on when the face embedder exists) also compares the portraits of documents that show
the same ICAO specimen person ("Anna Maria Eriksson" on the Utopia documents) with each other and
with portraits of other documents, using the kiosk's embedder and its document threshold.

Usage: python scripts/eval_documents.py [--data DIR] [--json] [--match|--no-match] [--config PATH]
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kiosk.eval.specimens import SPECIMEN_ERIKSSON, SPECIMEN_GROUPS  # noqa: E402

log = logging.getLogger("eval_documents")

#: Same picture in another encoding: left out of the pair count so it does not inflate the figures.
DUPLICATE_ENCODINGS = ("passporteye_tests/passport-td2.png", "passporteye_tests/passport-td3.png")

FOUND_CODES = ("face_too_small", "face_too_blurred")


def evaluate(data: Path, config: Any) -> list[dict[str, Any]]:
    from kiosk.document.pipeline import document_detector_options, process_document
    from kiosk.errors import InputError
    from kiosk.imageio import load_image
    from kiosk.perception.detect import StillFaceDetector

    doc_cfg = config.document
    root = data / "id_documents"
    rows: list[dict[str, Any]] = []
    with open(root / "labels.csv", newline="", encoding="utf-8") as f:
        labels = list(csv.DictReader(f))
    detector = StillFaceDetector(document_detector_options(doc_cfg))
    try:
        for lab in labels:
            name = lab["file"]
            row: dict[str, Any] = {
                "file": name,
                "has_portrait": lab["has_face_portrait_visual"].strip().lower() == "yes",
                "plain_detector_faces": int(lab["mediapipe_short_range_faces"] or 0),
            }
            t0 = time.perf_counter()
            try:
                rgb = load_image(
                    root / name, max_bytes=doc_cfg.upload.max_bytes, max_pixels=doc_cfg.upload.max_pixels
                )
                res = process_document(rgb, detector, doc_cfg)
                d = res.as_dict()
                row.update(
                    outcome="ok",
                    found=True,
                    accepted=True,
                    box=d["portrait"]["box"],
                    face_px=d["portrait"]["quality"]["face_px"],
                    sharpness=d["portrait"]["quality"]["sharpness"],
                    ghosts=d["portrait"]["ghost_portraits"],
                    rectified=d["rectified"],
                    kind=d["document"]["kind"],
                    rotation_deg=d["document"]["rotation_deg"],
                    _result=res,
                )
            except InputError as exc:
                row.update(
                    outcome=exc.code, found=exc.code in FOUND_CODES, accepted=False, message=exc.message
                )
            row["ms"] = round((time.perf_counter() - t0) * 1000.0, 1)
            rows.append(row)
    finally:
        detector.close()
    return rows


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    pos = [r for r in rows if r["has_portrait"]]
    neg = [r for r in rows if not r["has_portrait"]]
    return {
        "documents": len(rows),
        "with_portrait": len(pos),
        "without_portrait": len(neg),
        "found": sum(r["found"] for r in pos),
        "accepted": sum(r["accepted"] for r in pos),
        "plain_detector_found": sum(r["plain_detector_faces"] > 0 for r in pos),
        "false_portraits": sum(r["found"] for r in neg),
        "missed": [r["file"] for r in pos if not r["found"]],
        "refused_found": {r["file"]: r["outcome"] for r in pos if r["found"] and not r["accepted"]},
        "mean_ms": round(sum(r["ms"] for r in rows) / max(1, len(rows)), 1),
    }


def specimen_matches(rows: list[dict[str, Any]], config: Any) -> dict[str, Any]:
    """Genuine pairs among documents of one specimen person, impostor pairs against other portraits.

    Chips are cut from each portrait's landmarks on its (rectified, upright) document image, as the
    kiosk's verifier does, and embedded with the configured TFLite model.
    """
    import numpy as np

    try:
        from kiosk.perception.match import resolve_document_threshold
        from kiosk.verifier import face_chips, load_embedder
    except ImportError as exc:
        return {"done": False, "reason": f"face embedder not available: {exc}"}
    from kiosk.errors import KioskError

    match_cfg = config.face.match
    try:
        thr, _fmr, source = resolve_document_threshold(match_cfg)
    except KioskError as exc:
        thr, source = 0.6, f"dlib default 0.6 ({exc.code})"
    try:
        embedder = load_embedder(match_cfg.model, match_cfg.num_threads)
    except KioskError as exc:
        return {"done": False, "reason": f"face embedder not loadable: {exc.message}"}
    vecs: dict[str, np.ndarray] = {}
    try:
        for r in rows:
            res = r.get("_result")
            if res is None or r["file"] in DUPLICATE_ENCODINGS:
                continue
            chips = face_chips(res.document.image, [res.portrait.face])
            vecs[r["file"]] = np.asarray(embedder.embed(chips))[0]
    finally:
        close = getattr(embedder, "close", None)
        if close is not None:
            close()

    def dist(a: str, b: str) -> float:
        return float(np.linalg.norm(vecs[a] - vecs[b]))

    genuine: list[tuple[str, str, float]] = []
    impostor: list[tuple[str, str, float]] = []
    for members in SPECIMEN_GROUPS.values():
        same = [f for f in members if f in vecs]
        genuine += [(a, b, dist(a, b)) for i, a in enumerate(same) for b in same[i + 1 :]]
        # Impostors: a known specimen person against every portrait of another document. Pairs of two
        # unlabelled portraits are left out (two specimens may reuse one model, as Poland's do).
        impostor += [(a, b, dist(a, b)) for a in same for b in vecs if b not in members and (b, a) not in
                     {(x, y) for x, y, _ in impostor}]  # fmt: skip
    same = [f for f in SPECIMEN_ERIKSSON if f in vecs]
    return {
        "done": True,
        "model": match_cfg.model,
        "threshold": thr,
        "threshold_source": source,
        "specimen_documents": len(same),
        "genuine_pairs": len(genuine),
        "genuine_matched": sum(d <= thr for _, _, d in genuine),
        "genuine_worst": max((round(d, 3) for _, _, d in genuine), default=None),
        "impostor_pairs": len(impostor),
        "impostor_matched": sum(d <= thr for _, _, d in impostor),
        "impostor_best": min((round(d, 3) for _, _, d in impostor), default=None),
        "genuine_misses": [[a, b, round(d, 3)] for a, b, d in genuine if d > thr],
        "impostor_hits": [[a, b, round(d, 3)] for a, b, d in impostor if d <= thr],
    }


def print_table(rows: list[dict[str, Any]], tot: dict[str, Any], match: dict[str, Any] | None) -> None:
    print(
        f"{'document':42s} {'label':5s} {'plain':5s} {'outcome':17s} "
        f"{'face_px':>7s} {'rect':4s} {'kind':7s} {'ms':>6s}"
    )
    for r in rows:
        face = f"{r['face_px']:.0f}" if "face_px" in r else "-"
        rect = ("yes" if r["rectified"] else "no") if "rectified" in r else "-"
        print(
            f"{r['file']:42s} {'face' if r['has_portrait'] else 'none':5s} {r['plain_detector_faces']:5d} "
            f"{r['outcome']:17s} {face:>7s} {rect:4s} {r.get('kind', '-'):7s} {r['ms']:6.0f}"
        )
    print()
    print(
        f"portraits found: {tot['found']}/{tot['with_portrait']} (accepted by the portrait rules: "
        f"{tot['accepted']}; plain short-range detector: {tot['plain_detector_found']})"
    )
    print(f"false portraits: {tot['false_portraits']}/{tot['without_portrait']}")
    if tot["missed"]:
        print(f"missed: {', '.join(tot['missed'])}")
    for f, code in tot["refused_found"].items():
        print(f"found but refused: {f} ({code})")
    print(f"mean time per document: {tot['mean_ms']:.0f} ms")
    if match is not None:
        if not match.get("done"):
            print(f"specimen matching: not done ({match.get('reason')})")
        else:
            print(
                f"specimen matching ({match['model']}, threshold {match['threshold']:.3f} from "
                f"{match['threshold_source']}): genuine {match['genuine_matched']}/"
                f"{match['genuine_pairs']} matched (worst distance {match['genuine_worst']}), impostor "
                f"{match['impostor_matched']}/{match['impostor_pairs']} matched "
                f"(closest {match['impostor_best']})"
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--data", type=Path, default=None, help="evaluation data folder (default: kiosk.paths.data_dir())"
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    ap.add_argument(
        "--match", dest="match", action="store_true", default=None, help="also compare specimen portraits"
    )
    ap.add_argument("--no-match", dest="match", action="store_false")
    ap.add_argument("--config", default=None, help="config file (default: built-in defaults)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from kiosk.config import load_config
    from kiosk.config.schema import KioskConfig
    from kiosk.paths import data_dir

    data = args.data or data_dir()
    if data is None or not (data / "id_documents" / "labels.csv").is_file():
        print("evaluation data not found: set EKYC_DATA_DIR or pass --data", file=sys.stderr)
        return 2
    config = load_config(args.config) if args.config else KioskConfig.model_validate({})
    rows = evaluate(data, config)
    tot = totals(rows)
    match = None
    if args.match is not False:
        match = specimen_matches(rows, config)
    if args.json:
        clean = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
        print(json.dumps({"rows": clean, "totals": tot, "specimen_matching": match}, indent=1))
    else:
        print_table(rows, tot, match)
    return 0


if __name__ == "__main__":
    sys.exit(main())
