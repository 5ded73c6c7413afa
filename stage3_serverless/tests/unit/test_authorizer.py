"""The jwt_auth authorizer, invoked as API Gateway would and through the local gateway."""

import json
from datetime import timedelta

import pytest

from homesense_core.tokens import SigningKey, TokenIssuer

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef/api/GET/me"


def authorize(harness, header):
    event = {"type": "TOKEN", "authorizationToken": header, "methodArn": METHOD_ARN}
    return harness.client.lambda_.invoke("jwt_auth", event).payload


def test_valid_token_allows_every_route_with_the_user_in_context(harness):
    user, token = harness.user()
    out = authorize(harness, f"Bearer {token}")
    assert out["principalId"] == user["id"]
    assert out["context"] == {"user_id": user["id"], "username": user["username"]}
    statement = out["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:us-east-1:123456789012:abcdef/api/*/*"]


def _tampered(token):
    head, payload, sig = token.split(".")
    return ".".join([head, payload, sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB")])


def assert_denied(policy):
    # ACCESS_DENIED in API Gateway; its gateway response (infra/gateway_responses.py) is the 401 problem.
    assert policy["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": METHOD_ARN}]
    assert "context" not in policy


@pytest.mark.parametrize("make_header", [
    lambda t: "",
    lambda t: t,  # no Bearer scheme
    lambda t: f"Bearer {_tampered(t)}",
    lambda t: "Bearer " + TokenIssuer(SigningKey.generate()).issue("01HZZZZZZZZZZZZZZZZZZZZZZZ", "x", 60),
], ids=["empty", "no-scheme", "tampered", "foreign-key"])
def test_bad_tokens_get_an_explicit_deny_not_a_function_error(harness, make_header):
    _, token = harness.user()
    assert_denied(authorize(harness, make_header(token)))


def test_expired_token_is_refused(harness):
    _, token = harness.user()
    real_clock = harness.deps.clock
    harness.deps.clock = lambda: real_clock() + timedelta(hours=2)
    assert_denied(authorize(harness, f"Bearer {token}"))


def test_a_denied_request_never_reaches_the_handler(harness, monkeypatch):
    from chalicelib.services import accounts

    def must_not_run(*_args):
        raise AssertionError("the route ran")
    monkeypatch.setattr(accounts, "me", must_not_run)
    # Chalice's local gateway answers a Deny with its plain 403 (it has no gateway responses).
    r = harness.request("GET", "/me", token=_tampered(harness.user()[1]))
    assert r.status_code == 403


def test_every_decision_is_logged_once_without_the_token(harness, caplog):
    user, token = harness.user()
    with caplog.at_level("INFO", logger="homesense"):
        authorize(harness, f"Bearer {token}")
        authorize(harness, f"Bearer {_tampered(token)}")
    lines = [r.getMessage() for r in caplog.records if r.name == "homesense"]
    assert [json.loads(line)["authorizer"] for line in lines] == ["allow", "deny"]
    assert json.loads(lines[0])["user_id"] == user["id"]
    assert not any(token.split(".")[2] in line for line in lines)


def test_route_sees_the_authorizer_context(harness):
    user, token = harness.user()
    r = harness.request("GET", "/me", token=token)
    assert r.status_code == 200 and r.json_body["id"] == user["id"]


def test_missing_header_never_reaches_the_handler(harness):
    # API Gateway answers this itself; DEPLOY's UNAUTHORIZED gateway response makes it problem+json.
    r = harness.request("GET", "/me")
    assert r.status_code == 401


def test_handler_refuses_a_request_without_authorizer_context(harness):
    # Defence in depth: a route whose authorizer went missing still answers 401 problem+json.
    from chalicelib import web
    from homesense_core.problems import Unauthorized

    class Bare:
        context = {}
    with pytest.raises(Unauthorized):
        web.caller(Bare())
