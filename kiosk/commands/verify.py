"""``ekyc-kiosk verify ID_IMAGE SELFIE_IMAGE [--json] [--model int8|fp16|fp32] [--config PATH]``.

Matches the portrait on an ID image (a document scan or photo, or any picture of the holder)
against a selfie with the kiosk's own pipeline and threshold.

Exit status: 0 same person, 1 not the same person, 2 no decision: unusable input (not an image,
corrupt, no face, several faces, face too small or too blurred) or a config/model problem. The
reason is printed in words, and with ``--json`` as ``error.code`` / ``error.message``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from kiosk.errors import InputError, KioskError

log = logging.getLogger(__name__)

EXIT_MATCH = 0
EXIT_NO_MATCH = 1
EXIT_UNUSABLE = 2


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "verify",
        help="match an ID image against a selfie",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("id_image", type=Path, help="ID document image (or any photo of the holder)")
    p.add_argument("selfie_image", type=Path, help="selfie image")
    p.add_argument(
        "--model", choices=["int8", "fp16", "fp32"], default=None, help="embedder (default: config)"
    )
    p.add_argument("--config", type=Path, default=None, help="config file; default config/default.yaml")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


class _Failure(Exception):
    def __init__(self, error: KioskError, image: str | None) -> None:
        super().__init__(error.message)
        self.error = error
        self.image = image


def _face_line(d: dict[str, Any]) -> str:
    q = d.get("quality", {})
    x, y, w, h = d["box"]
    extra = f", {d['ghost_portraits']} ghost portrait(s) ignored" if d.get("ghost_portraits") else ""
    return (
        f"face {q.get('face_px', min(w, h)):.0f} px at ({x:.0f}, {y:.0f}, {w:.0f}x{h:.0f}), "
        f"sharpness {q.get('sharpness', 0):.0f}, brightness {q.get('brightness', 0):.0f}{extra}"
    )


def run(args: argparse.Namespace) -> int:
    faces: dict[str, Any] = {}
    out: dict[str, Any] = {"match": None, "model": None, "faces": faces}
    try:
        decision = _run(args, out, faces)
    except _Failure as f:
        out["error"] = {"code": f.error.code, "message": f.error.message, "image": f.image}
        out["exit_code"] = EXIT_UNUSABLE
        _emit(args, out)
        return EXIT_UNUSABLE
    except Exception as exc:
        log.debug("verify failed", exc_info=True)
        out["error"] = {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}", "image": None}
        out["exit_code"] = EXIT_UNUSABLE
        _emit(args, out)
        return EXIT_UNUSABLE
    out.update(decision.as_dict())
    code = EXIT_MATCH if decision.match else EXIT_NO_MATCH
    out["exit_code"] = code
    _emit(args, out)
    return code


def _run(args: argparse.Namespace, out: dict[str, Any], faces: dict[str, Any]) -> Any:
    from kiosk.config import load_config

    try:
        cfg = load_config(args.config)
    except KioskError as exc:
        raise _Failure(exc, None) from None
    from kiosk.imageio import load_image
    from kiosk.verifier import FaceVerifier

    limits = cfg.document.upload
    images = {}
    for role, path in (("id", args.id_image), ("selfie", args.selfie_image)):
        try:
            images[role] = load_image(path, max_bytes=limits.max_bytes, max_pixels=limits.max_pixels)
        except InputError as exc:
            raise _Failure(exc, role) from None
    verifier = FaceVerifier(cfg, variant=args.model)
    out["model"] = verifier.variant
    try:
        try:
            verifier.threshold(document=True)  # a config/manifest problem is reported before any work
        except KioskError as exc:
            raise _Failure(exc, None) from None
        try:
            id_face = verifier.enrol_document(images["id"])
        except KioskError as exc:
            raise _Failure(exc, "id") from None
        faces["id"] = id_face.as_dict()
        try:
            selfie = verifier.enrol_selfie(images["selfie"])
        except KioskError as exc:
            raise _Failure(exc, "selfie") from None
        faces["selfie"] = selfie.as_dict()
        return verifier.compare(id_face, selfie)
    finally:
        verifier.close()


def _emit(args: argparse.Namespace, out: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(out))
        return
    err = out.get("error")
    if err:
        where = {"id": f"ID image {args.id_image}", "selfie": f"selfie {args.selfie_image}"}.get(
            err["image"] or ""
        )
        prefix = f"{where}: " if where else ""
        print(f"UNUSABLE: {prefix}{err['message']} [{err['code']}]")
    else:
        verdict = "MATCH: the same person" if out["match"] else "NO MATCH: not the same person"
        rel = "<=" if out["match"] else ">"
        origin = (
            "set in the config"
            if str(out["threshold_source"]).startswith("config")
            else f"calibrated for FMR {out['fmr_target']:g}"
        )
        print(
            f"{verdict} (distance {out['score']:.3f} {rel} threshold {out['threshold']:.3f}, {origin}; "
            f"similarity {out['similarity']:.2f}; model {out['model']})"
        )
    for role, label in (("id", "ID image"), ("selfie", "selfie  ")):
        if role in out["faces"]:
            print(f"  {label}: {_face_line(out['faces'][role])}")
