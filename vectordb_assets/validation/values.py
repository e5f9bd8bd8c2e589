"""Values of source rows made canonical: columns found by name, metadata flattened and
JSON-safe, vectors as float32 arrays, dates parsed."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa


def find_column(names: Iterable[str], candidates: tuple[str, ...]) -> str | None:
    """The first candidate present among `names`, matched without regard to case."""
    by_lower = {name.lower(): name for name in names}
    return next((by_lower[c] for c in candidates if c in by_lower), None)


def json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys ({"a": {"b": 1}} → {"a.b": 1}), values JSON-safe."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = json_safe(value)
    return flat


def vectors_of(column: pa.Array) -> list[np.ndarray | None]:
    """Per-row float32 vectors from a list, fixed-size list, binary or JSON-text column."""
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
        return [None if v is None else np.frombuffer(v, dtype=np.float32) for v in column.to_pylist()]
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return [None if v in (None, "") else np.asarray(json.loads(v), dtype=np.float32) for v in column.to_pylist()]
    return [None if v is None else np.asarray(v, dtype=np.float32) for v in column.to_pylist()]


def parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.datetime.fromisoformat(str(value).strip()).date()
    except ValueError:
        return None
