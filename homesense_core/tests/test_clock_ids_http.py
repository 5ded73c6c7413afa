from datetime import datetime, timedelta, timezone

import pytest

from homesense_core import CONTRACT_VERSION, health_body
from homesense_core.clock import UTC, format_ts, parse_ts, utcnow
from homesense_core.http import (CORS_ALLOW_HEADERS, cors_headers, parse_origins,
                                 request_id_from, valid_request_id)
from homesense_core.ids import ID_RE, is_valid_id, new_id


def test_health_body_names_stage_and_contract_version():
    assert health_body("monolith") == {"status": "ok", "stage": "monolith", "version": "1.0.0"}
    assert CONTRACT_VERSION == "1.0.0"


def test_health_body_rejects_unknown_stage():
    with pytest.raises(ValueError):
        health_body("mainframe")


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


def test_new_id_is_a_valid_26_char_ulid_and_sortable_over_time():
    a = new_id()
    assert len(a) == 26 and is_valid_id(a) and ID_RE.match(a)
    assert len({new_id() for _ in range(100)}) == 100


@pytest.mark.parametrize("value, ok", [
    ("a", True), ("A_b-9", True), ("x" * 64, True), ("x" * 65, False), ("", False),
    ("a/b", False), ("a b", False), ("abc\n", False), ("é", False), (None, False), (5, False),
])
def test_is_valid_id_follows_the_contract_pattern(value, ok):
    assert is_valid_id(value) is ok


def test_request_id_from_keeps_a_valid_caller_value():
    assert request_id_from("abc.DEF_1-2") == "abc.DEF_1-2"
    assert request_id_from("x" * 128) == "x" * 128


@pytest.mark.parametrize("value", [None, "", "x" * 129, "has space", "semi;colon", "new\nline"])
def test_request_id_from_makes_a_new_one_for_invalid_values(value):
    rid = request_id_from(value)
    assert rid != value and valid_request_id(rid)


def test_cors_headers_default_to_any_origin_and_expose_headers():
    headers = cors_headers("https://a.example", ["*"])
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert set(headers["Access-Control-Expose-Headers"].split(",")) == {"Location", "X-Request-Id", "Retry-After"}
    assert "Access-Control-Allow-Methods" not in headers


def test_cors_preflight_lists_methods_headers_and_max_age():
    headers = cors_headers(None, ["*"], preflight=True)
    assert headers["Access-Control-Allow-Methods"] == "GET,POST,PATCH,DELETE,OPTIONS"
    for name in ("Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"):
        assert name in headers["Access-Control-Allow-Headers"].split(",")
    assert headers["Access-Control-Allow-Headers"] == CORS_ALLOW_HEADERS
    assert headers["Access-Control-Max-Age"] == "600"


def test_cors_allow_list_echoes_a_listed_origin_and_varies():
    allowed = ["https://a.example", "https://b.example"]
    headers = cors_headers("https://b.example", allowed)
    assert headers["Access-Control-Allow-Origin"] == "https://b.example"
    assert headers["Vary"] == "Origin"


def test_cors_allow_list_never_echoes_an_unlisted_origin():
    headers = cors_headers("https://evil.example", ["https://a.example"])
    assert headers["Access-Control-Allow-Origin"] == "https://a.example"


def test_parse_origins_splits_comma_list_and_defaults_to_star():
    assert parse_origins(None) == ["*"]
    assert parse_origins(" ") == ["*"]
    assert parse_origins("https://a.example, https://b.example,") == ["https://a.example", "https://b.example"]
