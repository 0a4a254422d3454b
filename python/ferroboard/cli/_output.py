"""What several commands share: exit statuses and turning values into JSON-ready ones."""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

EXIT_OK, EXIT_CORRUPT, EXIT_USAGE = 0, 1, 2


def jsonable(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist()) if x.dtype == object else x.tolist()
    if isinstance(x, bytes):
        try:
            return x.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(x).decode("ascii")}
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    return x
