"""Devices CRUD: create with defaults, merge PATCH, bounds, DELETE and what disappears with it."""
import pytest

from contract_tests.support import (assert_device_shape, assert_problem, assert_validation, describe,
                                    location_path, unique, wait_until)

pytestmark = pytest.mark.timeout(60)


def test_create_applies_defaults_and_points_location_at_the_device(api, user):
    name = unique("dev")
    r = api.post("/devices", user=user, json={"name": name, "kind": "humidity"})
    assert r.status_code == 201, describe(r)
    d = r.json()
    assert_device_shape(d)
    assert location_path(r).endswith(f"/devices/{d['id']}")
    assert d["name"] == name and d["kind"] == "humidity"
    assert d["room"] == "" and d["unit"] == ""
    assert d["low_threshold"] is None and d["high_threshold"] is None
    assert d["escalation_after_seconds"] == 300
    g = api.get(f"/devices/{d['id']}", user=user)
    assert g.status_code == 200, describe(g)
    assert g.json() == d


def test_create_keeps_every_given_field(api, user):
    body = {"name": "Living room sensor", "room": "living", "kind": "temperature", "unit": "°C",
            "low_threshold": 16.5, "high_threshold": 28, "escalation_after_seconds": 120}
    r = api.post("/devices", user=user, json=body)
    assert r.status_code == 201, describe(r)
    d = r.json()
    assert_device_shape(d)
    assert {k: d[k] for k in body} == body


@pytest.mark.parametrize("kind", ["temperature", "humidity", "co2", "power"])
def test_every_kind_is_accepted(api, shared_user, kind):
    assert api.create_device(shared_user, kind=kind)["kind"] == kind


@pytest.mark.parametrize("field,value", [
    ("name", "n"), ("name", "n" * 100), ("room", "r" * 100), ("unit", "u" * 16),
    ("escalation_after_seconds", 1), ("escalation_after_seconds", 86400),
    ("low_threshold", -273.15), ("high_threshold", 1e6), ("low_threshold", 0),
])
def test_values_at_the_bounds_are_accepted(api, shared_user, field, value):
    d = api.create_device(shared_user, **{field: value})
    assert d[field] == value


CREATE_INVALID = [
    ("name", ""), ("name", "n" * 101), ("name", None), ("name", 5),
    ("room", "r" * 101), ("room", None), ("room", 3),
    ("kind", "pressure"), ("kind", None), ("kind", "Temperature"),
    ("unit", "u" * 17), ("unit", None),
    ("low_threshold", "cold"), ("low_threshold", True), ("high_threshold", [1]),
    ("escalation_after_seconds", 0), ("escalation_after_seconds", 86401), ("escalation_after_seconds", 1.5),
    ("escalation_after_seconds", "300"), ("escalation_after_seconds", None), ("escalation_after_seconds", False),
    ("color", "red"), ("id", "mine"), ("created_at", "2026-01-01T00:00:00.000Z"),
]


@pytest.mark.parametrize("field,value", CREATE_INVALID)
def test_invalid_create_field_is_422_naming_it_and_creates_nothing(api, shared_user, field, value):
    body = {"name": unique("dev"), "kind": "temperature", field: value}
    before = api.collect("/devices", shared_user)
    r = api.post("/devices", user=shared_user, json=body)
    assert_validation(r, field)
    assert api.collect("/devices", shared_user) == before


@pytest.mark.parametrize("missing", ["name", "kind"])
def test_missing_required_field_is_422(api, shared_user, missing):
    body = {"name": unique("dev"), "kind": "temperature"}
    del body[missing]
    assert_validation(api.post("/devices", user=shared_user, json=body), missing)


@pytest.mark.parametrize("low,high", [(20, 10), (10, 10)])
def test_create_with_low_not_below_high_is_422(api, shared_user, low, high):
    before = api.collect("/devices", shared_user)
    r = api.post("/devices", user=shared_user, json={"name": "x", "kind": "temperature",
                                                     "low_threshold": low, "high_threshold": high})
    assert_problem(r, 422, "validation-error")
    assert api.collect("/devices", shared_user) == before


def test_patch_merges_and_leaves_other_fields(api, user):
    d = api.create_device(user, room="hall", low_threshold=5, high_threshold=30)
    r = api.patch(f"/devices/{d['id']}", user=user, json={"room": "kitchen", "unit": "C"})
    assert r.status_code == 200, describe(r)
    p = r.json()
    assert_device_shape(p)
    assert p == {**d, "room": "kitchen", "unit": "C", "updated_at": p["updated_at"]}
    assert p["updated_at"] >= d["updated_at"]
    assert api.get(f"/devices/{d['id']}", user=user).json() == p


def test_patch_null_clears_a_threshold(api, shared_user):
    d = api.create_device(shared_user, low_threshold=5, high_threshold=30)
    r = api.patch(f"/devices/{d['id']}", user=shared_user, json={"low_threshold": None})
    assert r.status_code == 200, describe(r)
    assert r.json()["low_threshold"] is None and r.json()["high_threshold"] == 30
    assert api.get(f"/devices/{d['id']}", user=shared_user).json()["low_threshold"] is None


def test_empty_patch_changes_nothing(api, shared_user):
    d = api.create_device(shared_user)
    r = api.patch(f"/devices/{d['id']}", user=shared_user, json={})
    assert r.status_code == 200, describe(r)
    assert r.json() == d


@pytest.mark.parametrize("initial,patch", [
    ({"low_threshold": 10}, {"high_threshold": 5}),
    ({"low_threshold": 10}, {"high_threshold": 10}),
    ({"high_threshold": 10}, {"low_threshold": 10}),
    ({"low_threshold": 10, "high_threshold": 40}, {"low_threshold": 50}),
    ({"low_threshold": 10, "high_threshold": 40}, {"high_threshold": -5}),
], ids=["high-below-low", "high-equals-low", "low-equals-high", "low-above-high", "high-below-low-both-set"])
def test_patch_checks_low_below_high_on_the_merged_device(api, shared_user, initial, patch):
    d = api.create_device(shared_user, **initial)
    r = api.patch(f"/devices/{d['id']}", user=shared_user, json=patch)
    assert_problem(r, 422, "validation-error")
    assert api.get(f"/devices/{d['id']}", user=shared_user).json() == d


def test_patch_may_move_both_thresholds_at_once(api, shared_user):
    d = api.create_device(shared_user, low_threshold=10, high_threshold=20)
    r = api.patch(f"/devices/{d['id']}", user=shared_user, json={"low_threshold": 30, "high_threshold": 40})
    assert r.status_code == 200, describe(r)
    assert (r.json()["low_threshold"], r.json()["high_threshold"]) == (30, 40)


PATCH_INVALID = [
    ("name", None), ("name", ""), ("name", "n" * 101), ("kind", None), ("kind", "pressure"),
    ("room", None), ("room", "r" * 101), ("unit", None), ("unit", "u" * 17),
    ("escalation_after_seconds", None), ("escalation_after_seconds", 0), ("escalation_after_seconds", 86401),
    ("low_threshold", "cold"), ("id", "other"), ("created_at", "2026-01-01T00:00:00.000Z"),
    ("updated_at", "2026-01-01T00:00:00.000Z"), ("color", "red"),
]


@pytest.mark.parametrize("field,value", PATCH_INVALID)
def test_invalid_patch_is_422_naming_the_field_and_changes_nothing(api, shared_user, field, value):
    d = api.create_device(shared_user)
    r = api.patch(f"/devices/{d['id']}", user=shared_user, json={"room": "changed", field: value})
    assert_validation(r, field)
    assert api.get(f"/devices/{d['id']}", user=shared_user).json() == d


# (method, path below /devices/{id}, json body) of every route on one device.
DEVICE_ROUTES = [("GET", "", None), ("PATCH", "", {"room": "x"}), ("DELETE", "", None),
                 ("GET", "/readings", None), ("GET", "/readings/summary", None),
                 ("POST", "/readings", {"readings": [{"value": 1}]})]


def test_delete_is_204_then_the_device_is_gone_everywhere(api, user):
    d = api.create_device(user)
    keep = api.create_device(user)
    r = api.delete(f"/devices/{d['id']}", user=user)
    assert r.status_code == 204, describe(r)
    assert r.content == b""
    for method, path, body in DEVICE_ROUTES:
        rr = api.request(method, f"/devices/{d['id']}{path}", user=user, json=body)
        assert_problem(rr, 404, "not-found")
    assert [x["id"] for x in api.collect("/devices", user)] == [keep["id"]]


@pytest.mark.timeout(60)
def test_delete_takes_the_devices_readings_and_alerts_with_it(api, user):
    d = api.create_device(user, low_threshold=10)
    other = api.create_device(user, low_threshold=10)
    api.post_readings(user, d["id"], [5, 4])
    api.post_readings(user, other["id"], [3])
    alert = api.wait_alert(user, lambda a: a["device_id"] == d["id"] and a["reading_count"] == 2)
    other_alert = api.wait_alert(user, lambda a: a["device_id"] == other["id"])
    assert api.delete(f"/devices/{d['id']}", user=user).status_code == 204
    assert_problem(api.get(f"/devices/{d['id']}/readings", user=user), 404)
    # Alerts are derived asynchronously; they may take the same time to disappear as to appear.
    wait_until(lambda: api.get(f"/alerts/{alert['id']}", user=user).status_code == 404,
               message="alert of the deleted device disappears")
    assert_problem(api.get(f"/alerts/{alert['id']}", user=user), 404, "not-found")
    assert_problem(api.post(f"/alerts/{alert['id']}/ack", user=user), 404, "not-found")
    wait_until(lambda: [a["id"] for a in api.alerts(user)] == [other_alert["id"]],
               message="alert list without the deleted device's alerts")
    r = api.get("/alerts", user=user, params={"device_id": d["id"]})
    if r.status_code == 200:
        assert r.json()["items"] == []
    else:
        assert_problem(r, 404, "not-found")
    assert [x["value"] for x in api.readings(user, other["id"])] == [3]


def test_unknown_device_id_is_404_on_every_device_route(api, shared_user):
    missing = "01" + "Z" * 24
    for method, path, body in DEVICE_ROUTES:
        assert_problem(api.request(method, f"/devices/{missing}{path}", user=shared_user, json=body), 404, "not-found")
