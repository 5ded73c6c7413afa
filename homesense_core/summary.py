"""Aggregate of readings for GET /devices/{id}/readings/summary."""

import math
from datetime import datetime
from typing import Iterable

from .clock import format_ts


def summarize(readings: Iterable[tuple[float, datetime]]) -> dict:
    """count, min, max, mean, first/last recorded_at; nulls when there are none."""
    values, first, last = [], None, None
    for value, recorded_at in readings:
        values.append(float(value))
        first = recorded_at if first is None or recorded_at < first else first
        last = recorded_at if last is None or recorded_at > last else last
    count = len(values)
    if count == 0:
        return {"count": 0, "min": None, "max": None, "mean": None,
                "first_recorded_at": None, "last_recorded_at": None}
    try:
        mean = math.fsum(values) / count
    except OverflowError:  # the sum of huge finite values may overflow; the mean cannot
        mean = math.fsum(v / count for v in values)
    return {"count": count, "min": min(values), "max": max(values), "mean": mean,
            "first_recorded_at": format_ts(first), "last_recorded_at": format_ts(last)}
