"""UTC timestamps with millisecond precision, as the contract writes them."""

import re
from datetime import datetime, timedelta, timezone

UTC = timezone.utc

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)


def truncate_ms(dt: datetime) -> datetime:
    """Drop sub-millisecond digits so stored and formatted values compare equal."""
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def utcnow() -> datetime:
    """Current time, aware UTC, truncated to milliseconds."""
    return truncate_ms(datetime.now(UTC))


def format_ts(dt: datetime) -> str:
    """RFC 3339 UTC with Z and exactly three fractional digits."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("naive datetime")
    dt = dt.astimezone(UTC)
    # Built by hand: strftime("%Y") does not zero-pad years below 1000 on glibc.
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T"
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}.{dt.microsecond // 1000:03d}Z"
    )


def parse_ts(s: str) -> datetime:
    """Parse an RFC 3339 date-time with Z or offset into aware UTC (ms); ValueError otherwise."""
    if not isinstance(s, str):
        raise ValueError("not a string")
    m = _RFC3339.fullmatch(s)
    if m is None:
        raise ValueError(f"not an RFC 3339 date-time: {s!r}")
    year, month, day, hour, minute, second, frac, z, sign, oh, om = m.groups()
    micro = int((frac or "0").ljust(6, "0")[:6])
    if z:
        tz = UTC
    else:
        if int(oh) > 23 or int(om) > 59:
            raise ValueError("offset out of range")
        delta = timedelta(hours=int(oh), minutes=int(om))
        tz = timezone(-delta if sign == "-" else delta)
    dt = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz)
    try:
        return truncate_ms(dt.astimezone(UTC))
    except OverflowError as exc:  # an offset that moves year 1 or 9999 out of range
        raise InstantOutOfRange(dt) from exc


class InstantOutOfRange(ValueError):
    """A well-formed RFC 3339 time whose offset moves it before year 1 or after 9999 in UTC."""

    def __init__(self, local: datetime):
        super().__init__(f"{local.isoformat()} is outside the years 1 to 9999 in UTC")
        self.before_year_1 = local.year == 1


EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
LATEST = truncate_ms(datetime.max.replace(tzinfo=UTC))


def parse_bound(s: str) -> datetime:
    """parse_ts for a query bound (from, to): a valid time outside what datetime can hold in UTC
    is still a valid bound, earlier or later than every reading, so it clamps instead of failing.
    A stored time (recorded_at) has no such excuse and goes through parse_ts."""
    try:
        return parse_ts(s)
    except InstantOutOfRange as exc:
        return EARLIEST if exc.before_year_1 else LATEST
