"""X-Request-Id on every response: the caller's valid value echoed, otherwise a fresh valid one.

Contract 1.0.0 clarification: a 401 refused at the edge before any application code runs
(stage 3's API Gateway authorizer answers it through a Gateway Response, which can map one
header source only) carries a valid id that may be the edge's own instead of the caller's.
Every other response echoes a valid caller value.
"""
import uuid

import pytest

from contract_tests.support import REQUEST_ID_RE, describe, request_id_ok

pytestmark = pytest.mark.timeout(60)



@pytest.fixture(scope="module")
def user(shared_user):
    """Every test here looks only at resources it creates itself: one user for the module."""
    return shared_user


def calls(api, user, headers):
    """One response of each family: success, 401, 404 (route and id), 422, 400, 405, preflight."""
    return {
        "health": api.get("/health", headers=headers),
        "me": api.get("/me", user=user, headers=headers),
        "401": api.get("/devices", headers=headers),
        "404 route": api.get("/no-such-route", headers=headers),
        "404 id": api.get("/alerts/01ZZZZZZZZZZZZZZZZZZZZZZZZ", user=user, headers=headers),
        "422": api.post("/users", json={}, headers=headers),
        "400": api.post("/users", data=b"{", headers={**headers, "Content-Type": "application/json"}),
        "405": api.request("PUT", "/devices", user=user, json={}, headers=headers),
        "preflight": api.options("/devices", headers={**headers, "Origin": "https://a.example.test",
                                                      "Access-Control-Request-Method": "POST"}),
    }


@pytest.mark.parametrize("value", ["ct-" + uuid.uuid4().hex, "a", "A.b_c-9" * 18 + "xy"])
def test_a_valid_caller_request_id_is_echoed_on_every_response(api, user, value):
    assert REQUEST_ID_RE.match(value) and len(value) <= 128
    for name, r in calls(api, user, {"X-Request-Id": value}).items():
        got = r.headers.get("X-Request-Id")
        assert request_id_ok(value, got, r.status_code), f"{name}: {got!r} {describe(r)} {dict(r.headers)}"


@pytest.mark.parametrize("value", ["x" * 129, "has space", "semi;colon", "slash/es", "ünï"])
def test_an_invalid_caller_request_id_is_replaced_by_a_valid_one(api, user, value):
    for name, r in calls(api, user, {"X-Request-Id": value.encode("utf-8")}).items():
        got = r.headers.get("X-Request-Id")
        assert got and got != value and REQUEST_ID_RE.match(got), f"{name}: {got!r} {describe(r)}"


def test_without_a_caller_value_every_response_gets_a_fresh_id(api, user):
    seen = []
    for name, r in calls(api, user, {}).items():
        got = r.headers.get("X-Request-Id")
        assert got and REQUEST_ID_RE.match(got), f"{name}: {got!r} {describe(r)}"
        seen.append(got)
    assert len(set(seen)) == len(seen), seen
