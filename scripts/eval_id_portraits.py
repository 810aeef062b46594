#!/usr/bin/env python3
"""ID-portrait matching on the specimen documents of the evaluation data (dev measurement).

Every image of ``id_documents/`` goes through the kiosk's document step (outline, upright turn,
ghost portraits, portrait rules) and the kiosk's face pipeline. Then:

* genuine: the ICAO "Utopia" specimen person (Anna Maria Eriksson) is printed on several
  documents (:data:`SPECIMEN`); every pair of those portraits is a genuine pair. It is the same
  photograph each time, so these pairs measure what printing, scanning and the document step do
  to a face, not ageing or pose. The Polish specimen (passport and visa) is a second such pair.
* impostor, portrait vs photo: every document portrait (one per person) against every LFW DevTrain
  photo, scored against the live threshold, to see whether scanned portraits need their own
  threshold (``face.match.document_threshold``).

Usage: python scripts/eval_id_portraits.py [--model int8] [--json]
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
from kiosk.perception.match import pairwise_distances  # noqa: E402

#: Documents showing the ICAO specimen person, identified by eye (PNG twins of the JPEG scans in
#: passporteye_tests are the same scan re-encoded, so only the JPEGs count).
SPECIMEN = (
    "fastmrz/mrva.jpg",
    "fastmrz/mrvb.jpg",
    "fastmrz/td1.jpg",
    "fastmrz/td2.jpg",
    "fastmrz/td3.jpg",
    "passporteye_testdata/100_pass-uto.jpg",
    "passporteye_testdata/100_pass2-uto.jpg",
    "passporteye_testdata/25_pass-uto.jpg",
    "passporteye_tests/passport-td2.jpg",
    "passporteye_tests/passport-td3.jpg",
)
POLISH = ("passporteye_testdata/100_pass-polx.jpg", "passporteye_testdata/100_visa-polx.jpg")
SKIP = ("passporteye_tests/passport-td2.png", "passporteye_tests/passport-td3.png")


def document_embeddings(data: Path, model: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    from kiosk.imageio import load_image
    from kiosk.perception.verifier import FaceVerifier

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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="int8", choices=["int8", "fp16", "fp32"])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from kiosk.config.schema import KioskConfig
    from kiosk.paths import data_dir
    from kiosk.perception.match import resolve_threshold
    from kiosk.perception.verifier import load_embedder

    data = data_dir()
    if data is None:
        print("evaluation data not found", file=sys.stderr)
        return 2
    cfg = KioskConfig.model_validate({"face": {"match": {"model": args.model}}})
    thr, fmr, src = resolve_threshold(cfg.face.match)
    embs, failures = document_embeddings(data, args.model)

    spec = [k for k in SPECIMEN if k in embs]
    gen = [float(np.linalg.norm(embs[a] - embs[b])) for a, b in itertools.combinations(spec, 2)]
    pol = [float(np.linalg.norm(embs[POLISH[0]] - embs[POLISH[1]]))] if all(k in embs for k in POLISH) else []

    # one portrait per person for impostor pairs: the specimen and the Polish specimen once each
    people = [k for k in embs if k not in SPECIMEN[1:] and k != POLISH[1]]
    doc_mat = np.stack([embs[k] for k in people])
    lfw = load_pairs(data / "lfw_devtrain" / "pairsDevTrain.txt")
    cs = extract_chips(lfw.images(), data / "lfw_devtrain" / "images")
    model = load_embedder(args.model)
    lfw_emb = embed_chips(cs, model.embed, args.model)[cs.enrolled]
    doc_vs_photo = pairwise_distances(doc_mat, lfw_emb).ravel()
    doc_vs_doc = pairwise_distances(doc_mat)[np.triu_indices(len(people), 1)]
    photo_imp = pairwise_distances(lfw_emb)
    ids = np.array([r.name for r in cs.refs])[cs.enrolled]
    iu = np.triu_indices(len(ids), 1)
    photo_imp = photo_imp[iu][ids[iu[0]] != ids[iu[1]]]

    def fm(x: np.ndarray) -> dict[str, Any]:
        n_fm = int((x <= thr).sum())
        return {"pairs": int(len(x)), "false_matches": n_fm, "fmr": float(f"{n_fm / len(x):.3g}")}

    t_doc, _ = metrics.threshold_at_fmr(doc_vs_photo, fmr)
    out = {
        "model": args.model,
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
        "impostor_portrait_vs_lfw_photo": fm(doc_vs_photo),
        "impostor_portrait_vs_portrait": fm(doc_vs_doc),
        "impostor_photo_vs_photo_lfw": fm(photo_imp),
        "threshold_at_fmr_on_portrait_vs_photo": round(t_doc, 4),
        "portrait_people": len(people),
    }
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
