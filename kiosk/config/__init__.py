"""Validated configuration: pydantic v2 models (``extra="forbid"``) loaded from YAML with line numbers."""

from kiosk.config.loader import (
    ConfigIssue,
    ConfigValidationError,
    config_sha256,
    load_config,
    parse_config_text,
)

__all__ = ["ConfigIssue", "ConfigValidationError", "config_sha256", "load_config", "parse_config_text"]
