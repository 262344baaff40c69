"""How every ``medmo bench`` target prints its result: one JSON object, or aligned lines."""

from __future__ import annotations

import json
from typing import Any


def emit(result: dict[str, Any], as_json: bool) -> int:
    """Print ``result`` as one JSON object (``as_json``) or one ``key: value`` line per key
    (nested values as JSON).

    >>> emit({"ratio": 1.5}, True)
    {"ratio": 1.5}
    0
    >>> emit({"ratio": 1.5, "ours": {"rounds": [1, 2]}}, False)
                       ratio: 1.5
                        ours: {"rounds": [1, 2]}
    0
    """
    if as_json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            shown = json.dumps(value) if isinstance(value, dict | list) else value
            print(f"{key:>24}: {shown}")
    return 0
