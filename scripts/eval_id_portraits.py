#!/usr/bin/env python3
"""ID-portrait matching on the specimen documents of the evaluation data (dev measurement).

Every image of ``id_documents/`` goes through the kiosk's document step (outline, upright turn,
ghost portraits, portrait rules) and the kiosk's face pipeline. Then:

* genuine: the ICAO "Utopia" specimen person (Anna Maria Eriksson) is printed on several
  documents (``kiosk.eval.specimens``); every pair of those portraits is a genuine pair. It is the same
  photograph each time, so these pairs measure what printing, scanning and the document step do
  to a face, not ageing or pose. The Polish specimen (passport and visa) is a second such pair.
* impostor, portrait vs photo: every document portrait (one per person) against every LFW DevTrain
  photo, scored against the live threshold, to see whether scanned portraits need their own
  threshold (``face.match.document_threshold``).

``--write`` stores the threshold at the target FMR on portrait-vs-photo impostors (two-way identity
bootstrap CI) as ``face_embedder.thresholds.calibrated[<model>]["document"]["fmr_<x>"]``, which
the kiosk uses for ID-portrait comparisons when ``face.match.document_threshold`` is null.

Usage: python scripts/eval_id_portraits.py [--model int8|all] [--write] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kiosk.errors import InputError  # noqa: E402
from kiosk.eval import metrics  # noqa: E402
from kiosk.eval.pairs import load_pairs  # noqa: E402
from kiosk.eval.runner import embed_chips, extract_chips  # noqa: E402
from kiosk.eval.specimens import SPECIMEN_ERIKSSON, SPECIMEN_POLAND  # noqa: E402
from kiosk.perception.match import pairwise_distances  # noqa: E402

SKIP = ("passporteye_tests/passport-td2.png", "passporteye_tests/passport-td3.png")


def document_embeddings(data: Path, model: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    from kiosk.imageio import load_image
    from kiosk.verifier import FaceVerifier

    embs: dict[str, np.ndarray] = {}
    failures: dict[str, str] = {}
    root = data / "id_documents"
    with FaceVerifier(variant=model) as v:
        for p in sorted(root.rglob("*")):
            rel = str(p.relative_to(root))
            if p.suffix.lower() not in (".jpg", ".png") or rel in SKIP:
                continue
            try:
                rgb = load_image(p, max_bytes=25_000_000, max_pixels=60_000_000)
                embs[rel] = v.enrol_document(rgb).embedding
            except InputError as exc:
                failures[rel] = exc.code
    return embs, failures


def lfw_embeddings(data: Path, variants: list[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Embeddings of the enrolled LFW DevTrain images per variant, and their identity names."""
    from kiosk.verifier import load_embedder

    lfw = load_pairs(data / "lfw_devtrain" / "pairsDevTrain.txt")
    cs = extract_chips(lfw.images(), data / "lfw_devtrain" / "images")
    out = {}
    for v in variants:
        model = load_embedder(v)
        out[v] = embed_chips(cs, model.embed, v)[cs.enrolled]
        closer = getattr(model, "close", None)
        if callable(closer):
            closer()
    return out, np.array([r.name for r in cs.refs])[cs.enrolled]


def measure(
    variant: str, data: Path, lfw_emb: np.ndarray, lfw_ids: np.ndarray, n_boot: int, seed: int
) -> dict[str, Any]:
    from kiosk.config.schema import KioskConfig
    from kiosk.perception.match import resolve_threshold

    cfg = KioskConfig.model_validate({"face": {"match": {"model": variant}}})
    thr, fmr, src = resolve_threshold(cfg.face.match)
    embs, failures = document_embeddings(data, variant)
    spec = [k for k in SPECIMEN_ERIKSSON if k in embs]
    gen = [float(np.linalg.norm(embs[a] - embs[b])) for a, b in itertools.combinations(spec, 2)]
    pol_a, pol_b = SPECIMEN_POLAND
    pol = [float(np.linalg.norm(embs[pol_a] - embs[pol_b]))] if pol_a in embs and pol_b in embs else []

    # one portrait per person for impostor pairs: the specimen and the Polish specimen once each
    people = [k for k in embs if k not in SPECIMEN_ERIKSSON[1:] and k != SPECIMEN_POLAND[1]]
    doc_mat = np.stack([embs[k] for k in people])
    vs_photo = pairwise_distances(doc_mat, lfw_emb)
    doc_vs_doc = pairwise_distances(doc_mat)[np.triu_indices(len(people), 1)]
    photo = pairwise_distances(lfw_emb)
    iu = np.triu_indices(len(lfw_ids), 1)
    photo_imp = photo[iu][lfw_ids[iu[0]] != lfw_ids[iu[1]]]

    def fm(x: np.ndarray) -> dict[str, Any]:
        n_fm = int((x <= thr).sum())
        return {"pairs": len(x), "false_matches": n_fm, "fmr": float(f"{n_fm / len(x):.3g}")}

    per_portrait = {people[i]: int(n) for i, n in enumerate((vs_photo <= thr).sum(axis=1)) if n}
    t_doc, _ = metrics.threshold_at_fmr(vs_photo.ravel(), fmr)
    _, col_ids = np.unique(lfw_ids, return_inverse=True)
    ci = metrics.cross_set_bootstrap(vs_photo, np.arange(len(people)), col_ids, fmr, n_boot, seed)
    photo_gen = photo[iu][lfw_ids[iu[0]] == lfw_ids[iu[1]]]
    return {
        "model": variant,
        "threshold": round(thr, 4),
        "threshold_source": src,
        "fmr_target": fmr,
        "documents_enrolled": len(embs),
        "documents_failed": failures,
        "specimen_documents": spec,
        "specimen_genuine": {
            "pairs": len(gen),
            "min": round(min(gen), 4) if gen else None,
            "median": round(float(np.median(gen)), 4) if gen else None,
            "max": round(max(gen), 4) if gen else None,
            "matched": sum(d <= thr for d in gen),
        },
        "polish_specimen_distance": [round(d, 4) for d in pol],
        "portrait_people": len(people),
        "impostor_portrait_vs_lfw_photo": fm(vs_photo.ravel()),
        "false_matches_per_portrait": per_portrait,
        "impostor_portrait_vs_portrait": fm(doc_vs_doc),
        "impostor_photo_vs_photo_lfw": fm(photo_imp),
        "document_threshold_at_fmr": round(t_doc, 4),
        "document_threshold_ci": ci.as_list(),
        "lfw_tar_at_document_threshold": round(float(np.mean(photo_gen <= t_doc)), 4),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="int8", help="int8, fp16, fp32, a comma list or all")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--write", action="store_true", help="store the document threshold in models/manifest.json"
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import datetime as dt

    from kiosk.commands.eval_pairs import parse_models
    from kiosk.eval.calibration import write_calibration
    from kiosk.models import MANIFEST_NAME
    from kiosk.paths import data_dir, models_dir

    data = data_dir()
    if data is None:
        print("evaluation data not found", file=sys.stderr)
        return 2
    variants = parse_models(args.model)
    lfw_emb, lfw_ids = lfw_embeddings(data, variants)
    for v in variants:
        out = measure(v, data, lfw_emb[v], lfw_ids, args.bootstrap, args.seed)
        print(json.dumps(out, indent=None if args.json else 2), flush=True)
        if args.write:
            imp = out["impostor_portrait_vs_lfw_photo"]
            record = {
                "threshold": out["document_threshold_at_fmr"],
                "ci": out["document_threshold_ci"],
                "ci_level": 0.95,
                "tar": out["lfw_tar_at_document_threshold"],
                "tar_note": "TAR of LFW photo pairs at this threshold (no genuine portrait-vs-live data)",
                "n_genuine": out["specimen_genuine"]["pairs"],
                "n_impostor": imp["pairs"],
                "data": (
                    f"id_documents portraits of {out['portrait_people']} people (document step) x "
                    f"{len(lfw_ids)} lfw_devtrain photos; genuine: ICAO specimen on "
                    f"{len(out['specimen_documents'])} documents (same photograph)"
                ),
                "bootstrap": {
                    "replicates": args.bootstrap,
                    "seed": args.seed,
                    "resampled": "both sides' identities",
                },
                "script": "scripts/eval_id_portraits.py",
                "date": dt.date.today().isoformat(),
            }
            write_calibration(models_dir() / MANIFEST_NAME, v, out["fmr_target"], record, kind="document")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
