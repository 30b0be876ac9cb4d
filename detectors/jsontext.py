"""JSON text of the small documents detectors keep in state (baselines, chains, windows, taints).

orjson, because these are written and read on nearly every assumption and the standard
library's encoder was 5 % of a replay's time. Either module reads what the other wrote (the
values round-trip identically; only spacing and non-ASCII escaping differ), so state files
written before stay readable. The standard library is the fallback for the rare value orjson
refuses (a lone surrogate), so nothing that was storable before fails now.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
