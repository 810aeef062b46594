"""``python -m kiosk.bench.dlib_verify ID_IMAGE SELFIE``: the dlib pipeline's verify as a process of its
own (decode, HOG, 5 points, chip, ResNet, distance), for the whole-command cross-check against
``ekyc-kiosk verify`` under ``/usr/bin/time -v`` (see benchmarks/README.md). Prints one JSON line."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def main(argv: list[str]) -> int:
    from kiosk.bench.verify import DLIB_THRESHOLD, DlibVerify, VerifyPair
    from kiosk.errors import KioskError

    if len(argv) != 2:
        print("usage: python -m kiosk.bench.dlib_verify ID_IMAGE SELFIE", file=sys.stderr)
        return 2
    try:
        dist = DlibVerify()(VerifyPair("cli", Path(argv[0]), Path(argv[1])))
    except KioskError as exc:
        print(json.dumps({"error": exc.message}))
        return 2
    print(
        json.dumps({"distance": round(dist, 4), "match": dist <= DLIB_THRESHOLD, "threshold": DLIB_THRESHOLD})
    )
    return 0 if dist <= DLIB_THRESHOLD else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
