"""CORS: allow-origin on every response, preflight on any route, exposed headers."""
import time

import pytest
import requests

from contract_tests.support import describe

pytestmark = pytest.mark.timeout(60)
ORIGIN = "https://app.example.test"
REQUIRED_ALLOWED_HEADERS = {"authorization", "content-type", "idempotency-key", "x-request-id"}


@pytest.fixture(scope="module")
def user(shared_user):
    """Every test here looks only at resources it creates itself: one user for the module."""
    return shared_user


def tokens(value):
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


def assert_allow_origin(r):
    assert r.headers.get("Access-Control-Allow-Origin") in ("*", ORIGIN), describe(r) + f" {dict(r.headers)}"


def assert_exposes(r):
    exposed = tokens(r.headers.get("Access-Control-Expose-Headers"))
    assert {"location", "x-request-id"} <= exposed, dict(r.headers)


def test_normal_responses_carry_allow_origin_and_expose_headers(api, user):
    h = {"Origin": ORIGIN}
    for r in (api.get("/health", headers=h), api.get("/me", user=user, headers=h),
              api.post("/devices", user=user, headers=h, json={"name": "c", "kind": "power"})):
        assert r.status_code in (200, 201), describe(r)
        assert_allow_origin(r)
        assert_exposes(r)


def test_error_responses_carry_allow_origin_and_expose_headers(api, user):
    h = {"Origin": ORIGIN}
    for r in (api.get("/devices", headers=h),                       # 401
              api.get("/no-such-route", headers=h),                 # 404
              api.get("/devices/01ZZZZZZZZZZZZZZZZZZZZZZZZ", user=user, headers=h),  # 404 by id
              api.post("/users", headers=h, json={}),               # 422
              api.post("/users", headers={**h, "Content-Type": "application/json"}, data=b"{"),  # 400
              api.request("PUT", "/devices", user=user, headers=h, json={})):  # 405
        assert r.status_code >= 400, describe(r)
        assert_allow_origin(r)
        assert_exposes(r)


def test_responses_without_an_origin_still_carry_allow_origin(api):
    assert_allow_origin(api.get("/health"))
    assert_allow_origin(api.get("/devices"))


@pytest.mark.parametrize("path,method", [
    ("/health", "GET"), ("/users", "POST"), ("/auth/token", "POST"), ("/me", "GET"),
    ("/devices", "POST"), ("/devices/01ZZZZZZZZZZZZZZZZZZZZZZZZ", "PATCH"),
    ("/devices/01ZZZZZZZZZZZZZZZZZZZZZZZZ", "DELETE"), ("/devices/01ZZZZZZZZZZZZZZZZZZZZZZZZ/readings", "POST"),
    ("/alerts", "GET"), ("/alerts/01ZZZZZZZZZZZZZZZZZZZZZZZZ/ack", "POST"),
    ("/no-such-route", "GET"), ("/devices/x/y/z", "PUT"),
])
def test_preflight_on_any_route_answers_with_the_cors_policy(api, path, method):
    r = api.options(path, headers={
        "Origin": ORIGIN,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type,idempotency-key,x-request-id",
    })
    assert r.status_code in (200, 204), describe(r)
    assert_allow_origin(r)
    methods = tokens(r.headers.get("Access-Control-Allow-Methods"))
    assert methods, dict(r.headers)
    if path not in ("/no-such-route", "/devices/x/y/z"):
        assert method.lower() in methods or "*" in methods, dict(r.headers)
    allowed = tokens(r.headers.get("Access-Control-Allow-Headers"))
    assert REQUIRED_ALLOWED_HEADERS <= allowed, dict(r.headers)
    max_age = r.headers.get("Access-Control-Max-Age", "")
    assert max_age.isdigit() and int(max_age) > 0, dict(r.headers)


def test_preflight_needs_no_token(api):
    r = api.options("/me", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
                                    "Access-Control-Request-Headers": "authorization"})
    assert r.status_code in (200, 204), describe(r)


def _patient(method, url, **kw):
    """One request to the low-rate instance, waiting out its 429s."""
    for _ in range(20):
        r = requests.request(method, url, timeout=30, **kw)
        if r.status_code != 429:
            return r
        time.sleep(int(r.headers.get("Retry-After") or 1) + 0.2)
    raise AssertionError(f"still rate limited: {describe(r)}")


def test_allow_list_answers_listed_origins_and_never_authorises_others(cors_restricted_stage):
    base, allowed = cors_restricted_stage
    base = base.rstrip("/")
    for origin in allowed:
        r = _patient("GET", base + "/health", headers={"Origin": origin})
        assert r.status_code == 200, describe(r)
        assert r.headers.get("Access-Control-Allow-Origin") == origin, dict(r.headers)
    pre = _patient("OPTIONS", base + "/devices", headers={
        "Origin": allowed[1], "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert pre.status_code in (200, 204), describe(pre)
    assert pre.headers.get("Access-Control-Allow-Origin") == allowed[1], dict(pre.headers)
    stranger = "https://evil.example.test"
    for r in (_patient("GET", base + "/health", headers={"Origin": stranger}),
              _patient("GET", base + "/devices", headers={"Origin": stranger})):
        assert r.headers.get("Access-Control-Allow-Origin") not in ("*", stranger), dict(r.headers)
