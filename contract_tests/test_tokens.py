"""POST /auth/token: issuing bearer tokens, their lifetime and uniform refusal."""
import time

import pytest

from contract_tests.support import assert_problem, assert_validation, describe, unique

pytestmark = pytest.mark.timeout(60)


def test_token_response_shape_and_default_lifetime(api):
    u = api.create_user(name := unique(), "password1")
    r = api.post("/auth/token", json={"username": name, "password": "password1"})
    assert r.status_code == 200, describe(r)
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}, body
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert isinstance(body["access_token"], str) and body["access_token"].count(".") == 2
    me = api.get("/me", token=body["access_token"])
    assert me.status_code == 200 and me.json()["id"] == u["id"], describe(me)


@pytest.mark.parametrize("expires_in", [1, 60, 3600])
def test_requested_lifetime_is_echoed(api, expires_in):
    name = unique()
    api.create_user(name, "password1")
    r = api.post("/auth/token", json={"username": name, "password": "password1", "expires_in": expires_in})
    assert r.status_code == 200, describe(r)
    assert r.json()["expires_in"] == expires_in


@pytest.mark.timeout(30)
def test_short_lived_token_stops_working_after_expires_in(api):
    name = unique()
    api.create_user(name, "password1")
    token = api.token(name, "password1", expires_in=1)
    assert api.get("/me", token=token).status_code == 200
    issued = time.monotonic()
    deadline = issued + 10
    while True:
        r = api.get("/me", token=token)
        if r.status_code == 401:
            break
        assert r.status_code == 200, describe(r)
        assert time.monotonic() < deadline, "a token with expires_in=1 still works after 10 s"
        time.sleep(0.25)
    assert_problem(r, 401, "unauthorized")


def test_unknown_user_and_wrong_password_get_the_same_401(api):
    name = unique()
    api.create_user(name, "password1")
    wrong = api.post("/auth/token", json={"username": name, "password": "password2"})
    unknown = api.post("/auth/token", json={"username": unique(), "password": "password1"})
    a, b = assert_problem(wrong, 401, "unauthorized"), assert_problem(unknown, 401, "unauthorized")
    assert a == b
    assert wrong.headers.get("WWW-Authenticate") == unknown.headers.get("WWW-Authenticate")


@pytest.mark.parametrize("expires_in", [0, -1, 3601, 1.5, "60", True])
def test_bad_expires_in_is_422(api, expires_in):
    name = unique()
    api.create_user(name, "password1")
    r = api.post("/auth/token", json={"username": name, "password": "password1", "expires_in": expires_in})
    assert_validation(r, "expires_in")


def test_token_request_without_fields_is_422(api):
    assert_validation(api.post("/auth/token", json={}), "username", "password")


def test_token_request_with_unknown_field_is_422(api):
    name = unique()
    api.create_user(name, "password1")
    r = api.post("/auth/token", json={"username": name, "password": "password1", "scope": "admin"})
    assert_validation(r, "scope")
