"""Reading a YAML settings file (mappings, scorecards, training configs): one reader naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def read_yaml_mapping(path: Path, what: str, error: type[Exception]) -> dict[str, Any]:
    """The ``key: value`` mapping in ``path`` (empty for an empty file); else ``error`` naming the file.

    ``what`` names the file's kind in the messages ("mapping file", "scorecard file").
    Validating the content is the caller's: each kind words its entries its own way.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{path}: {what} is not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise error(f"{path}: a {what} must be a YAML mapping (key: value), got {type(data).__name__}")
    return data
