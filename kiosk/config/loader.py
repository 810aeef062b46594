"""Load YAML config into the pydantic schema, with errors that name the key path and YAML line."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "line ?"
        return f"{where}: {self.path or '<root>'}: {self.message}"


class ConfigValidationError(ConfigError):
    """Raised with every problem found, each naming the key path and the YAML line."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = issues
        lines = "\n".join(f"  {i}" for i in issues)
        super().__init__(f"invalid config {source}:\n{lines}")


def _line_map(text: str) -> dict[tuple[str | int, ...], int]:
    """Map each key path (tuple of keys / list indices) to its 1-based YAML line."""
    import yaml

    lines: dict[tuple[str | int, ...], int] = {}
    root = yaml.compose(text, Loader=yaml.SafeLoader)

    def walk(node: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else str(k)
                p = (*path, key)
                lines[p] = k.start_mark.line + 1
                walk(v, p)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                p = (*path, i)
                lines[p] = v.start_mark.line + 1
                walk(v, p)

    if root is not None:
        lines[()] = root.start_mark.line + 1
        walk(root, ())
    return lines


def _line_for(lines: dict[tuple[str | int, ...], int], loc: tuple[Any, ...]) -> int | None:
    for n in range(len(loc), -1, -1):
        hit = lines.get(tuple(loc[:n]))
        if hit is not None:
            return hit
    return None


def _strip_union_tags(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the discriminator value pydantic inserts into locations inside tagged unions."""
    out: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("type") == part:
            continue
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(out)


def parse_config_text(text: str, source: str = "<string>"):  # type: ignore[no-untyped-def]
    """Validate YAML text; return a :class:`~kiosk.config.schema.KioskConfig`."""
    import yaml
    from pydantic import ValidationError

    from kiosk.config.schema import KioskConfig

    try:
        data = yaml.safe_load(text)
        lines = _line_map(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigValidationError(source, [ConfigIssue("", line, f"YAML syntax: {problem}")]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigValidationError(
            source, [ConfigIssue("", 1, "the top level must be a mapping of sections")]
        )
    try:
        cfg = KioskConfig.model_validate(data)
    except ValidationError as exc:
        issues = []
        for err in exc.errors():
            loc = _strip_union_tags(data, tuple(err["loc"]))
            path = ".".join(str(p) for p in loc)
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check spelling; see config/default.yaml)"
            issues.append(ConfigIssue(path, _line_for(lines, loc), msg))
        raise ConfigValidationError(source, issues) from None
    object.__setattr__(cfg, "_source", source)
    object.__setattr__(cfg, "_sha256", hashlib.sha256(text.encode("utf-8")).hexdigest())
    return cfg


def load_config(path: str | Path | None = None):  # type: ignore[no-untyped-def]
    """Load and validate a config file; ``None`` loads ``config/default.yaml``.

    Raises :class:`ConfigValidationError` listing every problem with key path and line.
    """
    from kiosk.paths import default_config_path

    p = Path(path) if path is not None else default_config_path()
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigValidationError(str(p), [ConfigIssue("", None, f"cannot read: {exc.strerror}")]) from None
    if len(raw) > 1_000_000:
        raise ConfigValidationError(str(p), [ConfigIssue("", None, "file larger than 1 MB")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigValidationError(str(p), [ConfigIssue("", None, f"not UTF-8 text: {exc}")]) from None
    return parse_config_text(text, str(p))


def config_sha256(cfg: Any) -> str:
    """sha256 of the YAML text the config was loaded from (of the defaults' JSON when built in code)."""
    sha = getattr(cfg, "_sha256", None)
    if sha:
        return str(sha)
    return hashlib.sha256(cfg.model_dump_json().encode()).hexdigest()
