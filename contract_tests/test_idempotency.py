"""Idempotency-Key on POST /devices and POST /devices/{id}/readings."""
import uuid

import pytest

from contract_tests.support import assert_validation, describe, location_path, unique

pytestmark = pytest.mark.timeout(60)


def key() -> str:
    return f"ct-{uuid.uuid4()}"


def test_repeated_device_create_returns_the_first_response_and_stores_one(api, user):
    k, body = key(), {"name": unique("dev"), "kind": "co2"}
    first = api.post("/devices", user=user, json=body, headers={"Idempotency-Key": k})
    second = api.post("/devices", user=user, json=body, headers={"Idempotency-Key": k})
    assert first.status_code == 201, describe(first)
    assert second.status_code == 201, describe(second)
    assert second.json() == first.json()
    assert location_path(second) == location_path(first)
    assert [d["id"] for d in api.collect("/devices", user)] == [first.json()["id"]]


def test_repeated_readings_post_returns_the_first_response_and_stores_once(api, user):
    d = api.create_device(user)
    k, body = key(), {"readings": [{"value": 1.0}, {"value": 2.0}]}
    path = f"/devices/{d['id']}/readings"
    responses = [api.post(path, user=user, json=body, headers={"Idempotency-Key": k}) for _ in range(3)]
    for r in responses:
        assert r.status_code == 202 and r.json() == {"accepted": 2}, describe(r)
    assert [x["value"] for x in api.readings(user, d["id"])] == [1.0, 2.0]


def test_without_a_key_every_post_counts(api, user):
    d = api.create_device(user)
    for _ in range(2):
        api.post_readings(user, d["id"], [1.0])
    assert len(api.readings(user, d["id"])) == 2


def test_same_key_with_a_different_body_is_422_and_stores_nothing(api, user):
    d = api.create_device(user)
    k, path = key(), f"/devices/{d['id']}/readings"
    assert api.post(path, user=user, json={"readings": [{"value": 1.0}]},
                    headers={"Idempotency-Key": k}).status_code == 202
    r = api.post(path, user=user, json={"readings": [{"value": 2.0}]}, headers={"Idempotency-Key": k})
    assert_validation(r, "Idempotency-Key")
    assert [x["value"] for x in api.readings(user, d["id"])] == [1.0]

    k2 = key()
    first = api.post("/devices", user=user, json={"name": "a", "kind": "power"}, headers={"Idempotency-Key": k2})
    assert first.status_code == 201, describe(first)
    r = api.post("/devices", user=user, json={"name": "b", "kind": "power"}, headers={"Idempotency-Key": k2})
    assert_validation(r, "Idempotency-Key")
    assert sorted(x["name"] for x in api.collect("/devices", user)) == sorted([d["name"], "a"])


def test_same_key_on_another_device_is_422(api, user):
    a, b = api.create_device(user), api.create_device(user)
    k, body = key(), {"readings": [{"value": 1.0}]}
    assert api.post(f"/devices/{a['id']}/readings", user=user, json=body,
                    headers={"Idempotency-Key": k}).status_code == 202
    r = api.post(f"/devices/{b['id']}/readings", user=user, json=body, headers={"Idempotency-Key": k})
    assert_validation(r, "Idempotency-Key")
    assert api.readings(user, b["id"]) == []


def test_different_users_with_the_same_key_are_independent(api, make_user):
    k, body = key(), {"name": "shared-name", "kind": "temperature"}
    u1, u2 = make_user(), make_user()
    r1 = api.post("/devices", user=u1, json=body, headers={"Idempotency-Key": k})
    r2 = api.post("/devices", user=u2, json=body, headers={"Idempotency-Key": k})
    assert r1.status_code == 201 and r2.status_code == 201, (describe(r1), describe(r2))
    assert r1.json()["id"] != r2.json()["id"]
    assert [d["id"] for d in api.collect("/devices", u1)] == [r1.json()["id"]]
    assert [d["id"] for d in api.collect("/devices", u2)] == [r2.json()["id"]]


def test_key_longer_than_255_chars_is_422(api, user):
    r = api.post("/devices", user=user, json={"name": "x", "kind": "power"}, headers={"Idempotency-Key": "k" * 256})
    assert_validation(r, "Idempotency-Key")
    assert api.collect("/devices", user) == []


def test_key_of_255_chars_is_accepted(api, user):
    r = api.post("/devices", user=user, json={"name": "x", "kind": "power"},
                 headers={"Idempotency-Key": uuid.uuid4().hex + "k" * 223})
    assert r.status_code == 201, describe(r)


@pytest.mark.timeout(60)
def test_replayed_readings_do_not_feed_the_alert_rule_twice(api, user):
    d = api.create_device(user, low_threshold=10)
    k, path = key(), f"/devices/{d['id']}/readings"
    body = {"readings": [{"value": 5.0}]}
    assert api.post(path, user=user, json=body, headers={"Idempotency-Key": k}).status_code == 202
    alert = api.wait_alert(user, lambda a: a["device_id"] == d["id"])
    assert api.post(path, user=user, json=body, headers={"Idempotency-Key": k}).status_code == 202
    # A later, keyless reading is evaluated after any replay would have been: once it shows, the
    # count tells whether the replay was counted.
    api.post_readings(user, d["id"], [4.0])
    a = api.wait_alert(user, lambda a: a["id"] == alert["id"] and a["last_value"] == 4.0)
    assert a["reading_count"] == 2
    assert len(api.readings(user, d["id"])) == 2
