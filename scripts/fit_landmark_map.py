#!/usr/bin/env python3
"""Refit the MediaPipe-mesh -> dlib 5-point map (kiosk/perception/align_map.py). Dev-only: needs dlib.

What it does:
1. For every image a pairs file uses (LFW by default), run dlib's HOG detector (1 upsample) and
   ``shape_predictor_5_face_landmarks.dat`` -- the points dlib's own chips are cut from -- and our
   MediaPipe FaceLandmarker (IMAGE mode). Keep images where both find the face nearest the image
   centre and dlib's 5 points fall inside the mesh's box (the same face).
2. Move the mesh and dlib's points into the face-normalised frame: the 150 px chip frame that the raw
   mesh vertices ``FIVE_POINT_MESH_IDX`` define (see ``kiosk.perception.align.mesh_frame``).
3. For each dlib point, choose up to ``--max-vertices`` mesh vertices by greedy forward selection
   among the 30 nearest (iris vertices excluded: they follow the gaze), and fit convex weights
   (non-negative, summing to 1) plus a constant offset by least squares, pooled over x and y.
4. Report held-out residuals (2-fold split by identity, seeded), in chip pixels, for the raw
   vertices and for the fitted map, then fit on all faces and write the module.

Usage:
    python scripts/fit_landmark_map.py [--pairs P] [--images DIR] [--cache /tmp/x.npz] [--write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kiosk.eval.pairs import load_pairs  # noqa: E402
from kiosk.perception import align  # noqa: E402

OUT_MODULE = REPO / "kiosk" / "perception" / "align_map.py"
POOL = 30
IRIS_FIRST = 468


def _central(boxes: list[tuple[float, float, float, float]], w: int, h: int) -> int:
    d = [np.hypot(x + bw / 2 - w / 2, y + bh / 2 - h / 2) for x, y, bw, bh in boxes]
    return int(np.argmin(d))


def collect(pairs_path: Path, images: Path, limit: int | None) -> dict[str, np.ndarray]:
    import cv2
    import dlib
    import face_recognition_models as frm

    from kiosk.models import verified_model_path
    from kiosk.perception.landmarker import FaceLandmarker, LandmarkerOptions, RunningMode

    hog = dlib.get_frontal_face_detector()
    sp5 = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
    lmk = FaceLandmarker(
        LandmarkerOptions(
            model_path=verified_model_path("face_landmarker"),
            mode=RunningMode.IMAGE,
            max_faces=4,
            blendshapes=False,
            transform=False,
        )
    )
    refs = load_pairs(pairs_path).images()[:limit]
    names, dl, mesh = [], [], []
    skipped = {"unreadable": 0, "dlib_none": 0, "mesh_none": 0, "different_face": 0}
    for n, ref in enumerate(refs):
        bgr = cv2.imread(str(ref.path(images)), cv2.IMREAD_COLOR)
        if bgr is None:
            skipped["unreadable"] += 1
            continue
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        dets = hog(rgb, 1)
        if len(dets) == 0:
            skipped["dlib_none"] += 1
            continue
        i = _central([(d.left(), d.top(), d.width(), d.height()) for d in dets], w, h)
        shape = sp5(rgb, dets[i])
        p5 = np.array([[shape.part(k).x, shape.part(k).y] for k in range(5)], dtype=np.float64)
        obs = lmk.detect(rgb)
        if not obs.faces:
            skipped["mesh_none"] += 1
            continue
        face = obs.faces[_central([f.box for f in obs.faces], w, h)]
        x, y, bw, bh = face.box
        if not ((p5[:, 0] > x) & (p5[:, 0] < x + bw) & (p5[:, 1] > y) & (p5[:, 1] < y + bh)).all():
            skipped["different_face"] += 1
            continue
        names.append(ref.name)
        dl.append(p5)
        mesh.append(face.landmarks[:, :2].astype(np.float64))
        if (n + 1) % 250 == 0:
            print(f"  {n + 1}/{len(refs)} images", file=sys.stderr)
    lmk.close()
    print(f"collected {len(dl)} faces; skipped {skipped}", file=sys.stderr)
    return {"names": np.array(names), "dlib5": np.array(dl), "mesh": np.array(mesh)}


def to_frame(mesh: np.ndarray, dlib5: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    fm = np.empty_like(mesh)
    fd = np.empty_like(dlib5)
    for i in range(len(mesh)):
        m = align.mesh_frame(mesh[i])
        fm[i] = align.apply_transform(m, mesh[i])
        fd[i] = align.apply_transform(m, dlib5[i])
    return fm, fd


def fit_point(fm: np.ndarray, target: np.ndarray, idx: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Convex weights over ``idx`` (non-negative, sum 1) plus an offset, least squares pooled over x and y.

    Non-negative weights keep the map well conditioned: nearby vertices with large opposite weights
    would fit as well on LFW but amplify landmark jitter on live video.
    """
    from scipy.optimize import nnls

    m = fm[:, idx]
    mm, mt = m.mean(axis=0), target.mean(axis=0)
    a = np.concatenate([m[:, :, 0] - mm[:, 0], m[:, :, 1] - mm[:, 1]], axis=0)
    y = np.concatenate([target[:, 0] - mt[0], target[:, 1] - mt[1]])
    big = 1e3 * np.sqrt(len(fm))  # a heavy extra row enforces sum(w) == 1
    w, _ = nnls(np.vstack([a, np.full((1, len(idx)), big)]), np.append(y, big))
    return w, mt - w @ mm


def predict_point(fm: np.ndarray, idx: list[int], w: np.ndarray, off: np.ndarray) -> np.ndarray:
    return np.einsum("j,njd->nd", w, fm[:, idx]) + off


def select(fm: np.ndarray, target: np.ndarray, max_vertices: int) -> list[int]:
    mean_t = target.mean(axis=0)
    order = np.argsort(np.linalg.norm(fm.mean(axis=0) - mean_t, axis=1))
    # Iris vertices (468..477) follow the gaze, not the eyelids: keep them out of the map.
    pool = [int(j) for j in order if j < IRIS_FIRST][:POOL]
    chosen: list[int] = []
    for _ in range(max_vertices):
        best, best_err = None, np.inf
        for j in pool:
            if j in chosen:
                continue
            idx = [*chosen, int(j)]
            w, off = fit_point(fm, target, idx)
            err = float(((predict_point(fm, idx, w, off) - target) ** 2).sum(axis=1).mean())
            if err < best_err:
                best, best_err = int(j), err
        assert best is not None
        chosen.append(best)
    return chosen


def fit_all(
    fm: np.ndarray, fd: np.ndarray, max_vertices: int
) -> list[tuple[list[int], np.ndarray, np.ndarray]]:
    out = []
    for k in range(5):
        idx = select(fm, fd[:, k], max_vertices)
        w, off = fit_point(fm, fd[:, k], idx)
        out.append((idx, w, off))
    return out


def predict(fm: np.ndarray, model: list[tuple[list[int], np.ndarray, np.ndarray]]) -> np.ndarray:
    return np.stack([predict_point(fm, idx, w, off) for idx, w, off in model], axis=1)


def chip_errors(mesh: np.ndarray, dlib5: np.ndarray, pred_img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    per_pt, rms = [], []
    for i in range(len(mesh)):
        p, r = align.chip_residual_px(pred_img[i], dlib5[i])
        per_pt.append(p)
        rms.append(r)
    return np.array(per_pt), np.array(rms)


def frame_to_image(mesh: np.ndarray, pred_frame: np.ndarray) -> np.ndarray:
    out = np.empty_like(pred_frame)
    for i in range(len(mesh)):
        inv = align.invert_transform(align.mesh_frame(mesh[i]))
        out[i] = align.apply_transform(inv, pred_frame[i])
    return out


def summary(per_pt: np.ndarray, rms: np.ndarray) -> dict[str, object]:
    return {
        "mean_point_error_chip_px": [round(float(v), 2) for v in per_pt.mean(axis=0)],
        "mean_all_points_chip_px": round(float(per_pt.mean()), 2),
        "chip_rms_shift_px_mean": round(float(rms.mean()), 2),
        "chip_rms_shift_px_p95": round(float(np.percentile(rms, 95)), 2),
    }


def write_module(model: list[tuple[list[int], np.ndarray, np.ndarray]], info: dict[str, object]) -> None:
    lines = [
        '"""Fitted map from MediaPipe FaceMesh vertices to dlib\'s 5 shape-predictor points. GENERATED FILE.',
        "",
        "Written by ``scripts/fit_landmark_map.py --write`` (rerun it to refit; do not edit by hand).",
        "Each entry, in dlib's part order (image-right eye outer, inner; image-left eye outer, inner;",
        "below the nose), is (mesh vertex indices, convex weights (>= 0, sum 1), offset (x, y)) in the",
        "face-normalised frame of :func:`kiosk.perception.align.mesh_frame` (150 px chip pixels).",
        "",
        "How it was fitted: dlib's HOG detector + shape_predictor_5_face_landmarks.dat and our",
        "FaceLandmarker (IMAGE mode) on the same LFW images; greedy choice of vertices among the 30",
        "nearest non-iris vertices, convex weights and an offset by least squares pooled over x",
        "and y. FIT_INFO holds the data size and the held-out residuals.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "MESH_TO_DLIB5: tuple[tuple[tuple[int, ...], tuple[float, ...], tuple[float, float]], ...] = (",
    ]
    for idx, w, off in model:
        idx_s = ", ".join(str(int(i)) for i in idx)
        w_s = ", ".join(f"{float(v):.6f}" for v in w)
        lines.append(f"    (({idx_s}), ({w_s}), ({float(off[0]):.4f}, {float(off[1]):.4f})),")
    lines.append(")")
    lines.append("")
    lines.append("FIT_INFO: dict[str, object] = " + json.dumps(info, indent=4))
    OUT_MODULE.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import subprocess

    # keep the generated file in the repository's format (best effort: ruff is a dev tool)
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(OUT_MODULE)], check=False)
    print(f"wrote {OUT_MODULE}", file=sys.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=Path, default=Path("/work/shared/data/lfw_devtrain/pairsDevTrain.txt"))
    ap.add_argument("--images", type=Path, default=None, help="default: <pairs dir>/images")
    ap.add_argument(
        "--cache", type=Path, default=None, help="npz cache of the collected points (outside the repo)"
    )
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--max-vertices", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--write", action="store_true", help="write kiosk/perception/align_map.py")
    args = ap.parse_args()
    images = args.images or args.pairs.parent / "images"
    if args.cache and args.cache.is_file():
        data = dict(np.load(args.cache))
    else:
        data = collect(args.pairs, images, args.limit)
        if args.cache:
            np.savez_compressed(args.cache, names=data["names"], dlib5=data["dlib5"], mesh=data["mesh"])
    mesh, dlib5, names = data["mesh"], data["dlib5"], data["names"]
    fm, fd = to_frame(mesh, dlib5)

    rng = np.random.default_rng(args.seed)
    ids = np.unique(names)
    half = set(rng.permutation(ids)[: len(ids) // 2].tolist())
    in_a = np.array([n in half for n in names])
    pred_frame = np.empty_like(fd)
    for train, test in ((in_a, ~in_a), (~in_a, in_a)):
        model = fit_all(fm[train], fd[train], args.max_vertices)
        pred_frame[test] = predict(fm[test], model)
    raw_img = mesh[:, list(align.FIVE_POINT_MESH_IDX)]
    raw = summary(*chip_errors(mesh, dlib5, raw_img))
    fitted = summary(*chip_errors(mesh, dlib5, frame_to_image(mesh, pred_frame)))
    print("raw mesh vertices  :", json.dumps(raw))
    print("fitted (held out)  :", json.dumps(fitted))

    model = fit_all(fm, fd, args.max_vertices)
    info = {
        "fitted_on": f"{args.pairs.name}: {len(mesh)} faces of {len(ids)} people "
        "(dlib HOG+sp5 and mesh agree)",
        "date": dt.date.today().isoformat(),
        "max_vertices": args.max_vertices,
        "heldout_2fold_by_identity_seed": args.seed,
        "residual_raw_vertices": raw,
        "residual_fitted_heldout": fitted,
    }
    if args.write:
        write_module(model, info)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
