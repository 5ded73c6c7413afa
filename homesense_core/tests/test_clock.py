from datetime import datetime, timedelta, timezone

import pytest

from homesense_core.clock import EARLIEST, LATEST, UTC, format_ts, parse_bound, parse_ts, utcnow


def test_utcnow_is_aware_utc_with_millisecond_precision():
    now = utcnow()
    assert now.utcoffset() == timedelta(0)
    assert now.microsecond % 1000 == 0


def test_format_ts_writes_z_and_three_fraction_digits():
    dt = datetime(2026, 11, 27, 9, 8, 52, 123456, UTC)
    assert format_ts(dt) == "2026-11-27T09:08:52.123Z"
    assert format_ts(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000Z"


def test_format_ts_converts_offsets_to_utc_and_pads_small_years():
    dt = datetime(2026, 11, 27, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    assert format_ts(dt) == "2026-11-27T09:00:00.000Z"
    assert format_ts(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00.000Z"


def test_format_ts_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        format_ts(datetime(2026, 1, 1))


@pytest.mark.parametrize("text, expected", [
    ("2026-11-27T09:08:52.123Z", datetime(2026, 11, 27, 9, 8, 52, 123000, UTC)),
    ("2026-11-27T09:08:52Z", datetime(2026, 11, 27, 9, 8, 52, tzinfo=UTC)),
    ("2026-11-27t09:08:52z", datetime(2026, 11, 27, 9, 8, 52, tzinfo=UTC)),
    ("2026-11-27T10:08:52.5+01:00", datetime(2026, 11, 27, 9, 8, 52, 500000, UTC)),
    ("2026-11-27T09:08:52.123999999-00:00", datetime(2026, 11, 27, 9, 8, 52, 123000, UTC)),
])
def test_parse_ts_accepts_rfc3339_and_returns_utc_milliseconds(text, expected):
    parsed = parse_ts(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", [
    "2026-11-27T09:08:52",          # no time zone
    "2026-11-27",                   # date only
    "2026-11-27 09:08:52Z",         # space separator
    "2026-13-01T00:00:00Z",         # month 13
    "2026-02-30T00:00:00Z",         # day 30 of February
    "2026-11-27T24:00:00Z",
    "2026-11-27T09:08:52+24:00",
    "2026-11-27T09:08:52.Z",
    "0001-01-01T00:00:00+01:00",    # out of range in UTC
    "2026-11-27T09:08:52Z\n",
    "now", "", "２０２６-11-27T09:08:52Z",
])
def test_parse_ts_rejects_anything_else_with_value_error(text):
    with pytest.raises(ValueError):
        parse_ts(text)


@pytest.mark.parametrize("value", [None, 12, 1.5, ["2026-11-27T09:08:52Z"]])
def test_parse_ts_rejects_non_strings_with_value_error(value):
    with pytest.raises(ValueError):
        parse_ts(value)


@pytest.mark.parametrize(("text", "expected"), [
    ("0001-01-01T00:00:00+01:00", EARLIEST),        # an hour before year 1 in UTC
    ("0001-01-01T01:00:01+21:11", EARLIEST),
    ("9999-12-31T23:59:59.999-00:01", LATEST),      # a minute after 9999 in UTC
    ("2026-11-27T09:08:52+01:00", datetime(2026, 11, 27, 8, 8, 52, tzinfo=UTC)),
])
def test_parse_bound_clamps_a_valid_time_outside_the_utc_years_instead_of_failing(text, expected):
    assert parse_bound(text) == expected
    assert format_ts(EARLIEST) == "0001-01-01T00:00:00.000Z"
    assert format_ts(LATEST) == "9999-12-31T23:59:59.999Z"


@pytest.mark.parametrize("text", ["2026-11-27", "2026-02-30T00:00:00Z", "now"])
def test_parse_bound_still_rejects_what_is_not_a_date_time(text):
    with pytest.raises(ValueError):
        parse_bound(text)
