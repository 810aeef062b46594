#!/usr/bin/env python3
"""Accuracy impact of the alignment, with dlib's own ResNet as the embedder. Dev-only: needs dlib.

Embeds the chips of every image of a pairs file with dlib's ``compute_face_descriptor`` (a fixed
reference embedder, so only the alignment changes) for each five-point source:

* ``dlib``: dlib's HOG detector + 5-point shape predictor, chip cut by kiosk.perception.chip
  (the reference: should equal dlib's own pipeline);
* ``mapped``: our MediaPipe mesh through the fitted map (what the kiosk does);
* ``raw``: the raw mesh vertices ``FIVE_POINT_MESH_IDX`` (no map);

and prints one JSON line per source with the metrics of ``ekyc-kiosk eval-pairs``, plus the mean
distance between each source's descriptor and dlib's for the images both enrol.

Usage: python scripts/eval_alignment.py [PAIRS] [--images DIR] [--head N] [--points dlib,mapped,raw]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kiosk.eval.pairs import load_pairs  # noqa: E402
from kiosk.eval.runner import embed_chips, extract_chips, score_system  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "pairs", nargs="?", type=Path, default=Path("/work/shared/data/lfw_devtrain/pairsDevTrain.txt")
    )
    ap.add_argument("--images", type=Path, default=None)
    ap.add_argument("--head", type=int, default=None, help="first N matched and N mismatched pairs only")
    ap.add_argument("--points", default="dlib,mapped,raw")
    args = ap.parse_args()
    from kiosk.perception.dlib_ref import DlibReference

    images = args.images or args.pairs.parent / "images"
    pf = load_pairs(args.pairs)
    if args.head:
        pf = pf.head(args.head)
    refs = pf.images()
    ref = DlibReference()
    embs: dict[str, np.ndarray] = {}
    for mode in args.points.split(","):
        cs = extract_chips(refs, images, points=mode)
        emb = embed_chips(cs, lambda c: ref.descriptors(list(c)), f"dlib-resnet/{mode}")
        embs[mode] = emb
        res = score_system(pf, refs, emb, cs.enrolled, cs.reasons)
        res.pop("fte_images")
        if "dlib" in embs and mode != "dlib":
            both = np.isfinite(embs["dlib"][:, 0]) & np.isfinite(emb[:, 0])
            res["mean_descriptor_distance_to_dlib_points"] = round(
                float(np.linalg.norm(emb[both] - embs["dlib"][both], axis=1).mean()), 4
            )
        print(json.dumps({"points": mode, **res}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
