"""Keyset pages of the list routes: a cursor holds the sort key of the last row served."""

from datetime import datetime
from typing import Callable, Sequence, TypeVar

from homesense_core.clock import parse_ts
from homesense_core.cursor import check_cursor, encode_cursor
from homesense_core.problems import FieldError, ValidationFailed

Row = TypeVar("Row")


def timed_position(cursor: dict | None, tie_key: str, tie_type: type) -> tuple[datetime, object] | None:
    """(timestamp "t", tiebreak) of a decoded cursor, None without one; 422 on field "cursor"."""
    if cursor is None:
        return None
    fields = check_cursor(cursor, {"t": str, tie_key: tie_type})
    try:
        return parse_ts(fields["t"]), fields[tie_key]
    except ValueError as exc:
        raise ValidationFailed([FieldError("cursor", "is not a valid cursor")]) from exc


def keyset_page(rows: Sequence[Row], limit: int, to_json: Callable[[Row], dict],
                cursor_of: Callable[[Row], dict]) -> dict:
    """The page body from up to limit + 1 rows: the extra row only tells that there is more."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [to_json(r) for r in rows],
            "next_cursor": encode_cursor(cursor_of(rows[-1])) if more else None}
