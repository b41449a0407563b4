"""One JSON-cleaning rule for everything sdsim writes as JSON (summaries, sweeps, plans, grades).

JSON has no NaN or infinity: a number that was not measured (NaN) or is unbounded is
written ``null``. numpy scalars become plain Python numbers, tuples become lists and
mapping keys become strings, so ``json.dumps(json_safe(x), allow_nan=False)`` always works
for the records sdsim produces.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["json_safe"]


def json_safe(value: Any) -> Any:
    """*value* with NaN/±inf floats replaced by ``None`` (recursively; numpy scalars made plain)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalar
        return json_safe(value.item())
    return value
