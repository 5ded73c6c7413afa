from datetime import datetime

import pytest

from homesense_core.clock import UTC
from homesense_core.cursor import encode_cursor
from homesense_core.problems import ValidationFailed
from homesense_core.queries import (AlertsQuery, PageQuery, ReadingsQuery, SummaryQuery,
                                    parse_alerts_query, parse_page_query, parse_readings_query,
                                    parse_summary_query)


def fields_of(call, *args):
    """Field paths of the ValidationFailed raised by call(*args)."""
    with pytest.raises(ValidationFailed) as info:
        call(*args)
    assert info.value.status == 422
    return [e.field for e in info.value.errors]


def test_parse_page_query_defaults():
    assert parse_page_query({}) == PageQuery(50, None)
    assert parse_page_query({"limit": "200"}) == PageQuery(200, None)
    assert parse_page_query({"limit": "1"}, default_limit=10, max_limit=20) == PageQuery(1, None)


@pytest.mark.parametrize("limit", ["0", "201", "-1", "1.5", "ten", "", " 5", "1_0", "٥", "9" * 30])
def test_parse_page_query_rejects_bad_limits(limit):
    assert fields_of(parse_page_query, {"limit": limit}) == ["limit"]


def test_parse_page_query_decodes_cursor_and_rejects_garbage():
    token = encode_cursor({"id": "abc"})
    assert parse_page_query({"cursor": token}).cursor == {"id": "abc"}
    assert fields_of(parse_page_query, {"cursor": "garbage", "limit": "0"}) == ["limit", "cursor"]
    assert fields_of(parse_page_query, {"cursor": ""}) == ["cursor"]


def test_parse_readings_query_defaults_and_values():
    assert parse_readings_query({}) == ReadingsQuery(None, None, "asc", 100, None)
    q = parse_readings_query({"from": "2026-11-27T00:00:00Z", "to": "2026-11-28T00:00:00+01:00",
                              "order": "desc", "limit": "1000"})
    assert q == ReadingsQuery(datetime(2026, 11, 27, tzinfo=UTC), datetime(2026, 11, 27, 23, tzinfo=UTC),
                              "desc", 1000, None)


def test_a_bound_outside_the_utc_years_is_a_valid_filter_not_an_error():
    # Schema-valid (format: date-time), so the contract must accept it: it is simply earlier
    # (or later) than every reading.
    q = parse_readings_query({"from": "0001-01-01T00:30:00+01:00", "to": "9999-12-31T23:00:00-02:00"})
    assert q.from_ == datetime(1, 1, 1, tzinfo=UTC)
    assert q.to == datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    assert parse_summary_query({"to": "0001-01-01T00:00:00+00:01"}).to == datetime(1, 1, 1, tzinfo=UTC)


def test_parse_readings_query_collects_every_bad_parameter():
    query = {"from": "x", "to": "2026-11-27", "order": "DESC", "limit": "1001", "cursor": "!"}
    assert fields_of(parse_readings_query, query) == ["from", "to", "order", "limit", "cursor"]


def test_parse_summary_query_parses_range_and_rejects_bad_times():
    assert parse_summary_query({}) == SummaryQuery(None, None)
    assert parse_summary_query({"to": "2026-11-27T00:00:00Z"}).to == datetime(2026, 11, 27, tzinfo=UTC)
    assert fields_of(parse_summary_query, {"from": "soon"}) == ["from"]


def test_parse_alerts_query_defaults_and_filters():
    assert parse_alerts_query({}) == AlertsQuery(None, None, 50, None)
    assert parse_alerts_query({"status": "acknowledged", "device_id": "dev_1", "limit": "5"}) == \
        AlertsQuery("acknowledged", "dev_1", 5, None)


@pytest.mark.parametrize("query, field", [
    ({"status": "closed"}, "status"), ({"status": ""}, "status"), ({"device_id": "a/b"}, "device_id"),
    ({"device_id": ""}, "device_id"), ({"device_id": "x" * 65}, "device_id"), ({"limit": "201"}, "limit"),
    ({"cursor": "AAAA"}, "cursor"),
])
def test_parse_alerts_query_rejects_bad_parameters(query, field):
    assert fields_of(parse_alerts_query, query) == [field]
