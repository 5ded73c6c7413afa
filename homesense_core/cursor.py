"""Opaque pagination cursors: base64url JSON with a checksum against accidental edits."""

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Mapping, Sequence, TypeVar

from .clock import format_ts, parse_ts
from .problems import FieldError, ValidationFailed

Row = TypeVar("Row")

MAX_CURSOR_CHARS = 1024
_CHECK_BYTES = 6
_SCALARS = (str, int, float, bool, type(None))


def _invalid(message: str = "is not a valid cursor") -> ValidationFailed:
    return ValidationFailed([FieldError("cursor", message)])


def _check(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=_CHECK_BYTES).digest()


def _flat(payload: dict) -> bool:
    return all(isinstance(v, _SCALARS) for v in payload.values())


def encode_cursor(payload: dict) -> str:
    """Encode a flat dict of JSON scalars into an opaque URL-safe string."""
    if not _flat(payload):
        raise TypeError("cursor values must be JSON scalars")
    data = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data + _check(data)).rstrip(b"=").decode()


def decode_cursor(s: str) -> dict:
    """Decode a cursor made by encode_cursor; ValidationFailed on field "cursor" otherwise."""
    if not isinstance(s, str) or not s or len(s) > MAX_CURSOR_CHARS:
        raise _invalid()
    try:
        raw = base64.urlsafe_b64decode(s.encode("ascii") + b"=" * (-len(s) % 4))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise _invalid() from exc
    # Re-encoding must give back s, so non-alphabet characters cannot slip through.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != s:
        raise _invalid()
    data, check = raw[:-_CHECK_BYTES], raw[-_CHECK_BYTES:]
    if len(raw) <= _CHECK_BYTES or _check(data) != check:
        raise _invalid()
    try:
        payload = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise _invalid() from exc
    if not isinstance(payload, dict) or not _flat(payload):
        raise _invalid()
    return payload


def check_cursor(payload: dict, fields: Mapping[str, type | tuple]) -> dict:
    """Require exactly these keys with these types (bool is not int); ValidationFailed otherwise."""
    if set(payload) != set(fields):
        raise _invalid()
    for key, types in fields.items():
        allowed = types if isinstance(types, tuple) else (types,)
        value = payload[key]
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            raise _invalid()
    return payload


def keyset_position(cursor: dict | None, time_key: str, tie_key: str,
                    tie_type: type) -> tuple[datetime, object] | None:
    """(timestamp, tiebreak) of a decoded keyset cursor, None without one; 422 on field "cursor"."""
    if cursor is None:
        return None
    fields = check_cursor(cursor, {time_key: str, tie_key: tie_type})
    try:
        return parse_ts(fields[time_key]), fields[tie_key]
    except ValueError as exc:
        raise _invalid() from exc


def keyset_page(rows: Sequence[Row], limit: int, to_json: Callable[[Row], dict],
                cursor_of: Callable[[Row], dict]) -> dict:
    """The page body from up to limit + 1 rows: the extra row only tells that there is more."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [to_json(r) for r in rows],
            "next_cursor": encode_cursor(cursor_of(rows[-1])) if more else None}


@dataclass(frozen=True)
class Keyset:
    """The cursor of one resource: its timestamp and tiebreak attributes, under short keys."""

    time_attr: str
    tie_attr: str
    tie_key: str
    tie_type: type
    time_key: str = "t"

    def position(self, cursor: dict | None) -> tuple[datetime, object] | None:
        """(timestamp, tiebreak) of a decoded cursor, None without one; 422 on field "cursor"."""
        return keyset_position(cursor, self.time_key, self.tie_key, self.tie_type)

    def of(self, row) -> dict:
        """The cursor payload that resumes after row."""
        return {self.time_key: format_ts(getattr(row, self.time_attr)),
                self.tie_key: getattr(row, self.tie_attr)}


# One naming in every stage: a cursor from one stage reads the same in another.
DEVICES = Keyset("created_at", "id", "i", str)
READINGS = Keyset("recorded_at", "seq", "s", int)
ALERTS = Keyset("opened_at", "id", "i", str)
