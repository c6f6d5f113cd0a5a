"""JSON paths as runreplay prints them: ``$.interactions[3].response.body.json.status``."""

from __future__ import annotations

import json
import re

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def join_key(path: str, key: str) -> str:
    """Append an object key, bracket-quoting keys that are not plain identifiers."""
    if _PLAIN_KEY.match(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def join_index(path: str, index: int) -> str:
    return f"{path}[{index}]"
