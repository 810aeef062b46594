"""``ekyc-kiosk document IMAGE [--json] [--save-portrait PATH] [--config PATH]``.

Runs the document step alone on one image file. Exit 0 with the portrait's box and quality;
exit 2 when the image is refused (unreadable file, no face, several faces, too small, too
blurred), with ``{"error": {"code": ..., "message": ...}}`` under ``--json``; exit 1 when the
kiosk itself cannot run (bad config, missing or tampered model). Never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_REFUSED = 2


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "document",
        help="find and crop the portrait on an ID document image",
        description="Find the ID document in IMAGE (JPEG, PNG or WebP), rectify it and report its portrait.",
    )
    p.add_argument("image", help="photo or scan of the document")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--save-portrait", metavar="PATH", help="write the portrait crop (.png, .jpg or .webp)")
    p.add_argument("--config", metavar="PATH", help="config file (default: config/default.yaml when present)")
    p.set_defaults(func=run)


def _load_config(path: str | None) -> Any:
    from kiosk.config import load_config
    from kiosk.config.schema import KioskConfig
    from kiosk.paths import default_config_path

    if path is not None:
        return load_config(path)
    if default_config_path().is_file():
        return load_config(None)
    return KioskConfig.model_validate({})


def _emit_error(as_json: bool, code: str, message: str) -> None:
    if as_json:
        print(json.dumps({"error": {"code": code, "message": message}}))
    else:
        print(f"refused ({code}): {message}", file=sys.stderr)


def _save(path: str, rgb: Any) -> None:
    import cv2

    from kiosk.errors import InputError, StorageError

    ext = Path(path).suffix.lower()
    if ext not in (".png", ".jpg", ".jpeg", ".webp"):
        raise InputError(
            f"--save-portrait needs a .png, .jpg or .webp file name, not {path!r}", code="bad_output_path"
        )
    ok, buf = cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise StorageError(f"could not encode the portrait as {ext}")
    try:
        # The portrait is biometric data: readable by the owner only.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(buf.tobytes())
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigValidationError
    from kiosk.errors import InputError, KioskError

    try:
        cfg = _load_config(args.config)
    except ConfigValidationError as exc:
        _emit_error(args.json, exc.code, str(exc))
        return EXIT_FAIL
    doc_cfg = cfg.document
    detector = None
    try:
        from kiosk.document.pipeline import document_detector_options, process_document
        from kiosk.imageio import load_image
        from kiosk.perception.detect import StillFaceDetector

        rgb = load_image(args.image, max_bytes=doc_cfg.upload.max_bytes, max_pixels=doc_cfg.upload.max_pixels)
        detector = StillFaceDetector(document_detector_options(doc_cfg))
        result = process_document(rgb, detector, doc_cfg)
        if args.save_portrait:
            _save(args.save_portrait, result.portrait.crop)
    except InputError as exc:
        _emit_error(args.json, exc.code, exc.message)
        return EXIT_REFUSED
    except KioskError as exc:
        _emit_error(args.json, exc.code, exc.message)
        return EXIT_FAIL
    except MemoryError:
        _emit_error(args.json, "out_of_memory", "not enough memory to process this image")
        return EXIT_FAIL
    except Exception as exc:
        log.debug("document step failed", exc_info=True)
        _emit_error(args.json, "internal_error", f"unexpected {type(exc).__name__}: {exc}")
        return EXIT_FAIL
    finally:
        if detector is not None:
            detector.close()

    out = result.as_dict()
    if args.json:
        print(json.dumps(out))
    else:
        p = out["portrait"]
        q = p["quality"]
        d = out["document"]
        x, y, w, h = p["box"]
        print(
            f"portrait: box x={x:.0f} y={y:.0f} w={w:.0f} h={h:.0f} "
            f"(in the {'rectified' if out['rectified'] else 'input'} image)"
        )
        print(
            f"quality: face {q['face_px']:.0f} px, sharpness {q['sharpness']:.0f}, "
            f"brightness {q['brightness']:.0f}, exposure {q['exposure']:.2f}"
        )
        print(
            f"rectified: {'yes' if out['rectified'] else 'no'} "
            f"(document {d['kind']}, {d['width']}x{d['height']})"
        )
        if p["ghost_portraits"]:
            print(f"ghost portraits ignored: {p['ghost_portraits']}")
        if args.save_portrait:
            print(f"portrait saved: {args.save_portrait}")
    return EXIT_OK
