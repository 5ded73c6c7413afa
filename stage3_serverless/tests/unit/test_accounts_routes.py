"""Health, JWKS, users, tokens and /me through chalice.test.Client."""

import pytest

from .support import unique


def test_health_names_the_serverless_stage(harness):
    r = harness.request("GET", "/health")
    assert r.status_code == 200
    assert r.json_body == {"status": "ok", "stage": "serverless", "version": "1.0.0"}


def test_jwks_serves_the_public_half_of_the_ssm_key(harness, signing_key):
    r = harness.request("GET", "/.well-known/jwks.json")
    assert r.status_code == 200
    assert r.json_body == signing_key.jwks()


def test_register_then_token_then_me(harness):
    name = unique("alice")
    created = harness.request("POST", "/users", {"username": name, "password": "s3cret-pass"})
    assert created.status_code == 201
    assert created.json_body["username"] == name and "password_hash" not in created.json_body
    tok = harness.request("POST", "/auth/token", {"username": name, "password": "s3cret-pass",
                                                  "expires_in": 60})
    assert tok.status_code == 200
    assert tok.json_body["token_type"] == "Bearer" and tok.json_body["expires_in"] == 60
    me = harness.request("GET", "/me", token=tok.json_body["access_token"])
    assert me.status_code == 200
    assert me.json_body == created.json_body


def test_taken_username_is_409_problem(harness):
    name = unique("bob")
    assert harness.request("POST", "/users", {"username": name, "password": "password1"}).status_code == 201
    r = harness.request("POST", "/users", {"username": name, "password": "password2"})
    assert r.status_code == 409
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json_body["type"] == "/problems/conflict"


@pytest.mark.parametrize("username,password", [("nobody-here", "whatever1"), (None, "wrong-password")])
def test_bad_credentials_are_one_401(harness, username, password):
    user, _ = harness.user(password="right-password")
    r = harness.request("POST", "/auth/token", {"username": username or user["username"],
                                                "password": password})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert r.json_body["type"] == "/problems/unauthorized"
    assert r.json_body["detail"] == "Unknown user or wrong password."


def test_invalid_user_body_is_422_with_field_paths(harness):
    r = harness.request("POST", "/users", {"username": "X", "password": "short", "extra": 1})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json_body["errors"]}
    assert fields == {"username", "password", "extra"}
