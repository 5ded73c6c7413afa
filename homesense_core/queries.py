"""Query-string parsing of the list and summary endpoints: every bad parameter reported at once."""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from .clock import parse_bound
from .cursor import decode_cursor
from .ids import is_valid_id
from .model import ALERT_STATUSES
from .problems import FieldErrors, ValidationFailed

_QUERY_INT_RE = re.compile(r"[+-]?[0-9]{1,12}\Z")


@dataclass(frozen=True)
class PageQuery:
    """limit and decoded cursor of a list endpoint."""

    limit: int
    cursor: dict | None


@dataclass(frozen=True)
class ReadingsQuery:
    """Query of GET /devices/{id}/readings."""

    from_: datetime | None
    to: datetime | None
    order: str
    limit: int
    cursor: dict | None


@dataclass(frozen=True)
class SummaryQuery:
    """Query of GET /devices/{id}/readings/summary."""

    from_: datetime | None
    to: datetime | None


@dataclass(frozen=True)
class AlertsQuery:
    """Query of GET /alerts."""

    status: str | None
    device_id: str | None
    limit: int
    cursor: dict | None


def _query_int(errs: FieldErrors, query: Mapping[str, str], name: str, default: int, low: int, high: int):
    raw = query.get(name)
    if raw is None:
        return default
    if not isinstance(raw, str) or _QUERY_INT_RE.match(raw) is None or not low <= int(raw) <= high:
        errs.add(name, f"must be an integer between {low} and {high}")
        return default
    return int(raw)


def _query_ts(errs: FieldErrors, query: Mapping[str, str], name: str):
    raw = query.get(name)
    if raw is None:
        return None
    try:
        return parse_bound(raw)
    except ValueError:
        errs.add(name, "must be an RFC 3339 date-time with a time zone")
        return None


def _query_choice(errs: FieldErrors, query: Mapping[str, str], name: str, choices, default):
    raw = query.get(name)
    if raw is None:
        return default
    if raw not in choices:
        errs.add(name, "must be one of " + ", ".join(choices))
        return default
    return raw


def _query_cursor(errs: FieldErrors, query: Mapping[str, str]):
    raw = query.get("cursor")
    if raw is None:
        return None
    try:
        return decode_cursor(raw)
    except ValidationFailed as exc:
        errs.items.extend(exc.errors)
        return None


def parse_page_query(query: Mapping[str, str], default_limit: int = 50, max_limit: int = 200) -> PageQuery:
    """limit and cursor of a list endpoint; other parameters are ignored."""
    errs = FieldErrors()
    limit = _query_int(errs, query, "limit", default_limit, 1, max_limit)
    cursor = _query_cursor(errs, query)
    errs.raise_if_any()
    return PageQuery(limit, cursor)


def parse_readings_query(query: Mapping[str, str]) -> ReadingsQuery:
    """from (inclusive), to (exclusive), order, limit 1..1000 (100), cursor."""
    errs = FieldErrors()
    from_ = _query_ts(errs, query, "from")
    to = _query_ts(errs, query, "to")
    order = _query_choice(errs, query, "order", ("asc", "desc"), "asc")
    limit = _query_int(errs, query, "limit", 100, 1, 1000)
    cursor = _query_cursor(errs, query)
    errs.raise_if_any()
    return ReadingsQuery(from_, to, order, limit, cursor)


def parse_summary_query(query: Mapping[str, str]) -> SummaryQuery:
    """from (inclusive) and to (exclusive) of a summary."""
    errs = FieldErrors()
    from_ = _query_ts(errs, query, "from")
    to = _query_ts(errs, query, "to")
    errs.raise_if_any()
    return SummaryQuery(from_, to)


def parse_alerts_query(query: Mapping[str, str]) -> AlertsQuery:
    """status and device_id filters, limit 1..200 (50), cursor."""
    errs = FieldErrors()
    status = _query_choice(errs, query, "status", ALERT_STATUSES, None)
    device_id = query.get("device_id")
    if device_id is not None and not is_valid_id(device_id):
        errs.add("device_id", "must be a valid id")
        device_id = None
    limit = _query_int(errs, query, "limit", 50, 1, 200)
    cursor = _query_cursor(errs, query)
    errs.raise_if_any()
    return AlertsQuery(status, device_id, limit, cursor)
