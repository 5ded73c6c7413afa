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
    try:
        dt = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz)
        return truncate_ms(dt.astimezone(UTC))
    except OverflowError as exc:  # an offset that moves year 1 or 9999 out of range
        raise ValueError(str(exc)) from exc
