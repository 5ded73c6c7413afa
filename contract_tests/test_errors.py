"""Every problem type the outside can provoke, with the exact RFC 9457 shape; failures change nothing."""
import json
import time

import pytest
import requests

from contract_tests.launcher import RESTRICTED_ORIGINS
from contract_tests.support import assert_problem, assert_validation, describe, unique

pytestmark = pytest.mark.timeout(60)
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def user(shared_user):
    """Every test here looks only at resources it creates itself: one user for the module."""
    return shared_user


def test_malformed_json_is_400_and_creates_nothing(api, user):
    before = api.collect("/devices", user)
    for raw in ('{"name": "x", "kind": ', "{'name': 'x'}", "nope", ""):
        r = api.post("/devices", user=user, data=raw.encode(), headers={"Content-Type": "application/json"})
        assert_problem(r, 400, "malformed-request")
    assert api.collect("/devices", user) == before


def test_a_repeated_json_key_is_422_naming_it_and_creates_nothing(api, user):
    before = api.collect("/devices", user)
    raw = b'{"name": "first", "kind": "temperature", "name": "second"}'
    r = api.post("/devices", user=user, data=raw, headers={"Content-Type": "application/json"})
    assert_validation(r, "name")
    assert api.collect("/devices", user) == before


def test_malformed_json_on_a_public_route_is_400(api):
    r = api.post("/users", data=b'{"username": "abc"', headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "malformed-request")


def test_missing_token_is_401(api):
    assert_problem(api.get("/devices"), 401, "unauthorized")


@pytest.mark.parametrize("path", ["/no-such-route", "/devices/x/y/z", "/users/me/extra", "/"])
def test_unknown_route_is_404_with_or_without_a_token(api, user, path):
    assert_problem(api.get(path), 404, "not-found")
    assert_problem(api.get(path, user=user), 404, "not-found")


def test_unknown_ids_are_404(api, user):
    assert_problem(api.get("/devices/unknown-device", user=user), 404, "not-found")
    assert_problem(api.get("/alerts/unknown-alert", user=user), 404, "not-found")


@pytest.mark.parametrize("method,path", [
    ("PUT", "/devices"), ("DELETE", "/devices"), ("GET", "/users"), ("DELETE", "/users"),
    ("POST", "/health"), ("GET", "/auth/token"), ("PUT", "/devices/{device}"), ("POST", "/devices/{device}"),
    ("DELETE", "/devices/{device}/readings"), ("GET", "/alerts/{alert}/ack"), ("DELETE", "/alerts/{alert}"),
    ("POST", "/me"),
])
def test_wrong_method_on_a_known_path_is_405(api, user, method, path):
    d = api.create_device(user)
    url = path.format(device=d["id"], alert="01" + "Z" * 24)
    r = api.request(method, url, user=user, json={} if method in ("PUT", "POST") else None)
    assert_problem(r, 405, "method-not-allowed")
    assert api.get(f"/devices/{d['id']}", user=user).json() == d


def test_conflict_is_409(api):
    name = unique()
    api.create_user(name, "password1")
    assert_problem(api.post("/users", json={"username": name, "password": "password2"}), 409, "conflict")


def _big_body(size):
    filler = "x" * size
    return json.dumps({"readings": [{"value": 1.0}], "pad": filler}).encode()


def test_body_over_1_mib_is_413_and_stores_nothing(api, user):
    d = api.create_device(user)
    body = _big_body(MIB + 16)
    assert len(body) > MIB
    # A fresh connection: a server may close it after refusing a big body.
    r = requests.post(api.url(f"/devices/{d['id']}/readings"), data=body, timeout=30,
                      headers={**user.headers, "Content-Type": "application/json"})
    assert_problem(r, 413, "payload-too-large")
    assert api.readings(user, d["id"]) == []


def test_body_over_1_mib_on_a_public_route_is_413(api):
    name = unique()
    body = json.dumps({"username": name, "password": "p" * (MIB + 10)}).encode()
    r = requests.post(api.url("/users"), data=body, timeout=30, headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "payload-too-large")
    assert api.post("/users", json={"username": name, "password": "password1"}).status_code == 201


def test_body_just_under_1_mib_is_not_413(api, user):
    body = json.dumps({"name": "n", "kind": "power", "room": "r" * (MIB - 200)}).encode()
    assert len(body) <= MIB
    r = requests.post(api.url("/devices"), data=body, timeout=30,
                      headers={**user.headers, "Content-Type": "application/json"})
    # Within the size limit the body is parsed: the room is too long, so 422.
    assert_validation(r, "room")


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None])
def test_body_that_is_not_json_is_415_and_creates_nothing(api, ctype):
    name = unique()
    raw = json.dumps({"username": name, "password": "password1"}).encode()
    headers = {"Content-Type": ctype} if ctype else {}
    r = api.post("/users", data=raw, headers=headers)
    assert_problem(r, 415, "unsupported-media-type")
    assert api.post("/users", json={"username": name, "password": "password1"}).status_code == 201


@pytest.mark.parametrize("ctype", ["application/json; charset=utf-8", "application/problem+json",
                                   "application/merge-patch+json"])
def test_json_content_types_with_parameters_or_suffix_are_accepted(api, user, ctype):
    d = api.create_device(user)
    r = api.patch(f"/devices/{d['id']}", user=user, data=json.dumps({"room": "den"}).encode(),
                  headers={"Content-Type": ctype})
    assert r.status_code == 200, describe(r)
    assert r.json()["room"] == "den"


def test_415_on_a_protected_route_changes_nothing(api, user):
    d = api.create_device(user)
    r = api.post(f"/devices/{d['id']}/readings", user=user, data=b'{"readings": [{"value": 1}]}',
                 headers={"Content-Type": "text/plain"})
    assert_problem(r, 415, "unsupported-media-type")
    assert api.readings(user, d["id"]) == []


def test_validation_error_is_422_with_field_paths(api, user):
    d = api.create_device(user)
    r = api.post(f"/devices/{d['id']}/readings", user=user, json={"readings": [{"value": 1}, {"value": "hot"}]})
    body = assert_validation(r, "readings/1/value")
    assert all(e["message"] for e in body["errors"])
    assert api.readings(user, d["id"]) == []


@pytest.mark.timeout(120)
def test_rate_limit_is_429_with_retry_after_and_changes_nothing(low_rate_stage):
    s = requests.Session()
    # An origin the suite's own low-rate instance allows; any other deployment may answer "*".
    origin = RESTRICTED_ORIGINS[0]
    s.headers["Origin"] = origin
    url = low_rate_stage.rstrip("/")
    limited = None
    # Burst 5 at 2 requests/s: 30 back-to-back requests must hit the limit.
    for _ in range(30):
        r = s.get(url + "/health", timeout=30)
        if r.status_code == 429:
            limited = r
            break
        assert r.status_code == 200, describe(r)
    assert limited is not None, "no 429 after 30 rapid requests with RPS=2 BURST=5"
    assert_problem(limited, 429, "rate-limited")
    retry_after = limited.headers.get("Retry-After", "")
    assert retry_after.isdigit() and int(retry_after) >= 0, limited.headers
    assert limited.headers.get("Access-Control-Allow-Origin") in ("*", origin), limited.headers
    assert limited.headers.get("X-Request-Id"), limited.headers

    # A refused write changes nothing.
    name = unique()
    refused = None
    for _ in range(30):
        r = s.post(url + "/users", json={"username": name, "password": "password1"}, timeout=30)
        if r.status_code == 429:
            refused = r
            break
        assert r.status_code == 201, describe(r)
        name = unique()
    assert refused is not None, "writes were never limited"
    assert_problem(refused, 429, "rate-limited")
    time.sleep(max(int(refused.headers.get("Retry-After", "1")), 1) + 1.5)
    r = s.post(url + "/users", json={"username": name, "password": "password1"}, timeout=30)
    assert r.status_code == 201, describe(r)
