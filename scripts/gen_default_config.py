"""Write config/default.yaml from the pydantic schema: every key, its default, and its description.

Run after changing the schema: ``python scripts/gen_default_config.py``. A test fails when the committed
file and the schema disagree, so the documented defaults can never drift from the code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

HEADER = """\
# eKYC kiosk configuration. Generated from the schema by scripts/gen_default_config.py; every key is
# listed with its default. Check a file with: ekyc-kiosk validate-config PATH
# Units are in key names (_s seconds, _px pixels, _mb megabytes, _deg degrees).
"""


def _scalar(v: Any) -> str:
    import json

    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_scalar(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def _emit(model: Any, indent: int, out: list[str]) -> None:
    from pydantic import BaseModel

    pad = "  " * indent
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        desc = field.description or ""
        meta = []
        for m in field.metadata:
            for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
                if getattr(m, attr, None) is not None:
                    meta.append(f"{sym} {getattr(m, attr)}")
        bounds = f" ({', '.join(meta)})" if meta else ""
        if isinstance(value, BaseModel):
            doc = (type(value).__doc__ or "").strip().splitlines()
            out.append(f"{pad}# {desc or (doc[0] if doc else name)}")
            out.append(f"{pad}{name}:")
            _emit(value, indent + 1, out)
        else:
            if desc or bounds:
                out.append(f"{pad}# {desc}{bounds}".rstrip())
            out.append(f"{pad}{name}: {_scalar(value)}")


def render() -> str:
    from kiosk.config.schema import KioskConfig

    cfg = KioskConfig()
    out: list[str] = [HEADER.rstrip()]
    for name, field in KioskConfig.model_fields.items():
        out.append("")
        value = getattr(cfg, name)
        from pydantic import BaseModel

        if isinstance(value, BaseModel):
            doc = (type(value).__doc__ or "").strip().splitlines()
            title = field.description or (doc[0] if doc else name)
            if name == "camera":
                title = (
                    "Camera source, picked by `type`: opencv (USB/laptop webcam), picamera2 (Raspberry Pi), "
                    "gst (Jetson GStreamer), file, dir, actor (simulated applicant)"
                )
            out.append(f"# {title}")
            out.append(f"{name}:")
            _emit(value, 1, out)
        else:
            out.append(f"# {field.description}")
            out.append(f"{name}: {_scalar(value)}")
    return "\n".join(out) + "\n"


def main() -> int:
    target = REPO / "config" / "default.yaml"
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
