"""POST /auth/token: issuing bearer tokens, their lifetime and uniform refusal."""
import time

import pytest

from contract_tests.support import assert_problem, assert_validation, describe, resign, unique

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


def _signed_with_the_deployments_key(pem: str, user, **overrides) -> str:
    """user's own token re-signed with the deployment's real key, iat/exp fresh, claims overridden
    (None drops one): its signature and kid are genuine, only the claims are off."""
    now = int(time.time())
    return resign(user.token, pem, **{"iat": now, "exp": now + 600, **overrides})


TOKEN_EDGES = {
    "no exp": lambda now: {"exp": None},
    "nbf a minute ahead": lambda now: {"nbf": now + 60},
    "lifetime over 3600 s": lambda now: {"exp": now + 3601 + 5},
    "iat in the future hides a long lifetime": lambda now: {"iat": now + 3000, "exp": now + 6600},
    "wrong audience": lambda now: {"aud": "someone-else"},
    "wrong issuer": lambda now: {"iss": "someone-else"},
}


def test_a_token_signed_with_the_deployments_key_is_accepted(api, user, signing_key_pem):
    # The control for the edges below: the same construction with good claims works.
    token = _signed_with_the_deployments_key(signing_key_pem, user)
    r = api.get("/me", token=token)
    assert r.status_code == 200 and r.json()["id"] == user.id, describe(r)


@pytest.mark.parametrize("edge", list(TOKEN_EDGES))
def test_token_edges_are_refused_even_with_the_deployments_own_signature(api, user, signing_key_pem, edge):
    token = _signed_with_the_deployments_key(signing_key_pem, user, **TOKEN_EDGES[edge](int(time.time())))
    for path in ("/me", "/devices"):
        r = api.get(path, token=token)
        assert_problem(r, 401, "unauthorized")
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), describe(r)
        assert r.json()["detail"] == api.get(path).json()["detail"], "token failures must not say why"


def test_every_token_failure_has_one_generic_detail(api, user):
    expired = api.token(user.username, user.password, expires_in=1)
    time.sleep(2.5)
    header, payload, signature = user.token.split(".")
    failures = {"missing": {}, "garbage": {"Authorization": "Bearer not.a.jwt"},
                "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
                "bad signature": {"Authorization": f"Bearer {header}.{payload}.{signature[:-6]}AAAAAA"},
                "expired": {"Authorization": f"Bearer {expired}"}}
    details = {}
    for name, headers in failures.items():
        r = api.request("GET", "/devices", headers=headers)
        details[name] = assert_problem(r, 401, "unauthorized")["detail"]
    assert len(set(details.values())) == 1, details


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_bearer_scheme_is_case_insensitive_on_every_stage(api, user, scheme):
    r = api.request("GET", "/me", headers={"Authorization": f"{scheme} {user.token}"})
    assert r.status_code == 200 and r.json()["id"] == user.id, describe(r)
