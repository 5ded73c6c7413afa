"""Readings: accept, read back in order with range and paging, summary, idempotency."""

from datetime import datetime, timedelta, timezone

from homesense_core.clock import format_ts

from .support import unique

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)


def at(seconds):
    return format_ts(T0 + timedelta(seconds=seconds))


def post(harness, token, device_id, items, headers=None):
    return harness.request("POST", f"/devices/{device_id}/readings", {"readings": items}, token, headers=headers)


def values(harness, token, device_id, qs=""):
    r = harness.request("GET", f"/devices/{device_id}/readings{qs}", token=token)
    assert r.status_code == 200, r.body
    return [(i["value"], i["recorded_at"]) for i in r.json_body["items"]], r.json_body["next_cursor"]


def test_accepted_readings_are_readable_at_once_in_time_order(harness):
    _, token = harness.user()
    d = harness.device(token)
    r = post(harness, token, d["id"], [{"value": 2.5, "recorded_at": at(2)}, {"value": 1.5, "recorded_at": at(1)}])
    assert (r.status_code, r.json_body) == (202, {"accepted": 2})
    assert values(harness, token, d["id"]) == ([(1.5, at(1)), (2.5, at(2))], None)


def test_recorded_at_defaults_to_acceptance_time(harness):
    _, token = harness.user()
    d = harness.device(token)
    post(harness, token, d["id"], [{"value": 7}])
    [(value, recorded_at)], _ = values(harness, token, d["id"])
    assert value == 7
    assert abs(datetime.fromisoformat(recorded_at.replace("Z", "+00:00")) - datetime.now(timezone.utc)) \
        < timedelta(seconds=30)


def test_equal_timestamps_are_all_kept_in_acceptance_order(harness):
    _, token = harness.user()
    d = harness.device(token)
    post(harness, token, d["id"], [{"value": v, "recorded_at": at(0)} for v in (1, 2)])
    post(harness, token, d["id"], [{"value": 3, "recorded_at": at(0)}])
    asc, _ = values(harness, token, d["id"])
    desc, _ = values(harness, token, d["id"], "?order=desc")
    assert [v for v, _ in asc] == [1, 2, 3]
    assert [v for v, _ in desc] == [3, 2, 1]


def test_from_is_inclusive_to_is_exclusive(harness):
    _, token = harness.user()
    d = harness.device(token)
    post(harness, token, d["id"], [{"value": i, "recorded_at": at(i)} for i in range(5)])
    got, _ = values(harness, token, d["id"], f"?from={at(1)}&to={at(3)}")
    assert [v for v, _ in got] == [1, 2]


def test_paging_covers_everything_once_in_both_orders(harness):
    _, token = harness.user()
    d = harness.device(token)
    post(harness, token, d["id"], [{"value": i, "recorded_at": at(i // 2)} for i in range(7)])
    for order, expected in (("asc", list(range(7))), ("desc", list(reversed(range(7))))):
        seen, cursor = [], None
        while True:
            qs = f"?order={order}&limit=3" + (f"&cursor={cursor}" if cursor else "")
            page, cursor = values(harness, token, d["id"], qs)
            seen += [v for v, _ in page]
            if cursor is None:
                break
        assert seen == expected


def test_summary_over_a_range_and_of_nothing(harness):
    _, token = harness.user()
    d = harness.device(token)
    post(harness, token, d["id"], [{"value": v, "recorded_at": at(i)} for i, v in enumerate((4, 1, 7))])
    r = harness.request("GET", f"/devices/{d['id']}/readings/summary?from={at(1)}", token=token)
    assert r.json_body == {"count": 2, "min": 1.0, "max": 7.0, "mean": 4.0,
                           "first_recorded_at": at(1), "last_recorded_at": at(2)}
    empty = harness.request("GET", f"/devices/{d['id']}/readings/summary?to={at(0)}", token=token)
    assert empty.json_body == {"count": 0, "min": None, "max": None, "mean": None,
                               "first_recorded_at": None, "last_recorded_at": None}


def test_extreme_values_round_trip_exactly(harness):
    _, token = harness.user()
    d = harness.device(token)
    extremes = [1.7976931348623157e308, -5e-324, 0.1, 123456789.123456789]
    post(harness, token, d["id"], [{"value": v, "recorded_at": at(i)} for i, v in enumerate(extremes)])
    got, _ = values(harness, token, d["id"])
    assert [v for v, _ in got] == extremes


def test_invalid_batch_is_422_with_paths_and_stores_nothing(harness):
    _, token = harness.user()
    d = harness.device(token)
    r = post(harness, token, d["id"], [{"value": 1}, {"value": "x"}, {"value": 2, "recorded_at": "soon"}])
    assert r.status_code == 422
    assert {e["field"] for e in r.json_body["errors"]} == {"readings/1/value", "readings/2/recorded_at"}
    assert values(harness, token, d["id"]) == ([], None)


def test_readings_of_a_foreign_or_missing_device_are_404(harness):
    _, alice = harness.user()
    _, bob = harness.user()
    d = harness.device(alice)
    assert post(harness, bob, d["id"], [{"value": 1}]).status_code == 404
    assert harness.request("GET", f"/devices/{d['id']}/readings", token=bob).status_code == 404
    assert harness.request("GET", f"/devices/{d['id']}/readings/summary", token=bob).status_code == 404


def test_bad_query_parameters_are_422(harness):
    _, token = harness.user()
    d = harness.device(token)
    r = harness.request("GET", f"/devices/{d['id']}/readings?order=up&limit=5000&from=yesterday", token=token)
    assert r.status_code == 422
    assert {e["field"] for e in r.json_body["errors"]} == {"order", "limit", "from"}


def test_idempotent_batch_is_stored_once(harness):
    _, token = harness.user()
    d = harness.device(token)
    key = {"Idempotency-Key": unique("k")}
    first = post(harness, token, d["id"], [{"value": 1, "recorded_at": at(0)}], key)
    again = post(harness, token, d["id"], [{"value": 1, "recorded_at": at(0)}], key)
    assert (first.status_code, again.status_code, again.json_body) == (202, 202, first.json_body)
    assert len(values(harness, token, d["id"])[0]) == 1
    assert post(harness, token, d["id"], [{"value": 2}], key).status_code == 422


def test_deleted_device_takes_its_readings_along(harness):
    _, token = harness.user()
    d = harness.device(token)
    post(harness, token, d["id"], [{"value": 1}])
    harness.request("DELETE", f"/devices/{d['id']}", token=token)
    harness.stream.drain()
    table = harness.clients.get("dynamodb")
    left = table.query(TableName=harness.settings.table_name, KeyConditionExpression="PK = :pk",
                       ExpressionAttributeValues={":pk": {"S": f"DEVICE#{d['id']}"}})["Items"]
    assert left == []
