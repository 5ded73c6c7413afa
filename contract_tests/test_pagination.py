"""Cursor pagination: order, limits, every item exactly once, bad cursors."""
from datetime import timedelta

import pytest

from contract_tests.support import assert_validation, describe, fmt_ts, now_utc

pytestmark = pytest.mark.timeout(120)


def pages(api, path, user, params):
    """All pages as lists, following next_cursor."""
    return list(api.pages(path, user, params, max_pages=100))


def test_devices_come_oldest_first_each_exactly_once(api, user):
    created = [api.create_device(user, name=f"d{i}")["id"] for i in range(5)]
    got = pages(api, "/devices", user, {"limit": 2})
    assert [len(p) for p in got] == [2, 2, 1]
    assert [d["id"] for p in got for d in p] == created
    assert [d["id"] for p in pages(api, "/devices", user, {"limit": 5})[0:1] for d in p] == created


def test_devices_default_limit_is_50(api, user):
    for i in range(51):
        api.create_device(user, name=f"d{i}")
    r = api.get("/devices", user=user)
    assert r.status_code == 200, describe(r)
    assert len(r.json()["items"]) == 50 and r.json()["next_cursor"]
    r = api.get("/devices", user=user, params={"cursor": r.json()["next_cursor"]})
    assert len(r.json()["items"]) == 1 and r.json()["next_cursor"] is None


def test_empty_list_has_null_cursor(api, user):
    for path in ("/devices", "/alerts"):
        r = api.get(path, user=user)
        assert r.status_code == 200, describe(r)
        assert r.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("limit", [0, -1, 201, "ten", 1.5])
@pytest.mark.parametrize("path", ["/devices", "/alerts"])
def test_list_limit_out_of_1_to_200_is_422(api, shared_user, path, limit):
    assert_validation(api.get(path, user=shared_user, params={"limit": limit}), "limit")


@pytest.mark.parametrize("path", ["/devices", "/alerts"])
def test_list_limit_bounds_are_accepted(api, shared_user, path):
    for limit in (1, 200):
        r = api.get(path, user=shared_user, params={"limit": limit})
        assert r.status_code == 200, describe(r)


@pytest.fixture
def device_with_readings(api, shared_user):
    """A device with 10 readings: 7 at distinct times, 3 sharing one time; values all distinct."""
    d = api.create_device(shared_user)
    base = now_utc() - timedelta(hours=1)
    items = [{"value": float(i), "recorded_at": fmt_ts(base + timedelta(seconds=i))} for i in range(7)]
    tie = fmt_ts(base + timedelta(seconds=3, milliseconds=500))
    items += [{"value": 100.0 + i, "recorded_at": tie} for i in range(3)]
    # Posted out of order on purpose: the API orders by recorded_at, not by arrival.
    api.post_readings(shared_user, d["id"], items[::-1])
    return d, items


@pytest.mark.parametrize("limit", [1, 2, 4])
def test_readings_pages_ascending_hold_every_reading_once(api, shared_user, device_with_readings, limit):
    d, items = device_with_readings
    got = [x for p in pages(api, f"/devices/{d['id']}/readings", shared_user, {"limit": limit}) for x in p]
    assert len(got) == len(items)
    assert sorted(x["value"] for x in got) == sorted(x["value"] for x in items)
    times = [x["recorded_at"] for x in got]
    assert times == sorted(times)


@pytest.mark.parametrize("limit", [1, 3])
def test_readings_pages_descending_hold_every_reading_once(api, shared_user, device_with_readings, limit):
    d, items = device_with_readings
    asc = [x for p in pages(api, f"/devices/{d['id']}/readings", shared_user, {"limit": 100}) for x in p]
    desc = [x for p in pages(api, f"/devices/{d['id']}/readings", shared_user, {"limit": limit, "order": "desc"})
            for x in p]
    assert len(desc) == len(items)
    assert desc == asc[::-1]


def test_readings_default_limit_is_100_and_max_is_1000(api, shared_user):
    d = api.create_device(shared_user)
    api.post_readings(shared_user, d["id"], [float(i) for i in range(101)])
    r = api.get(f"/devices/{d['id']}/readings", user=shared_user)
    assert r.status_code == 200, describe(r)
    assert len(r.json()["items"]) == 100 and r.json()["next_cursor"]
    r = api.get(f"/devices/{d['id']}/readings", user=shared_user, params={"limit": 1000})
    assert r.status_code == 200, describe(r)
    assert len(r.json()["items"]) == 101 and r.json()["next_cursor"] is None


@pytest.mark.parametrize("limit", [0, 1001, "x"])
def test_readings_limit_out_of_1_to_1000_is_422(api, shared_user, limit):
    d = api.create_device(shared_user)
    assert_validation(api.get(f"/devices/{d['id']}/readings", user=shared_user, params={"limit": limit}), "limit")


def test_readings_bad_order_is_422(api, shared_user):
    d = api.create_device(shared_user)
    assert_validation(api.get(f"/devices/{d['id']}/readings", user=shared_user, params={"order": "random"}), "order")


@pytest.mark.parametrize("cursor", ["not-a-cursor", "!!!", "eyJmb28iOiAxfQ"])
def test_bad_cursor_is_422_on_every_list(api, shared_user, cursor):
    d = api.create_device(shared_user)
    for path in ("/devices", "/alerts", f"/devices/{d['id']}/readings"):
        assert_validation(api.get(path, user=shared_user, params={"cursor": cursor}), "cursor")


@pytest.mark.timeout(120)
def test_alerts_come_newest_first_each_exactly_once(api, user):
    opened = []
    for _ in range(4):
        # Wait for each alert before the next so their order is unambiguous.
        opened.append(api.device_with_alert(user, [1.0], low_threshold=10)[1]["id"])
    got = [a["id"] for p in pages(api, "/alerts", user, {"limit": 3}) for a in p]
    assert got == opened[::-1]
    got = [a["id"] for p in pages(api, "/alerts", user, {"limit": 1}) for a in p]
    assert got == opened[::-1]
