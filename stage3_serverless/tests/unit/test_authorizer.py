"""The jwt_auth authorizer, invoked as API Gateway would and through the local gateway."""

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


@pytest.mark.parametrize("make_header", [
    lambda t: "",
    lambda t: t,  # no Bearer scheme
    lambda t: f"Bearer {_tampered(t)}",
    lambda t: "Bearer " + TokenIssuer(SigningKey.generate()).issue("01HZZZZZZZZZZZZZZZZZZZZZZZ", "x", 60),
], ids=["empty", "no-scheme", "tampered", "foreign-key"])
def test_bad_tokens_raise_unauthorized_for_api_gateway(harness, make_header):
    _, token = harness.user()
    with pytest.raises(Exception, match="^Unauthorized$"):
        authorize(harness, make_header(token))


def test_expired_token_is_refused(harness):
    _, token = harness.user()
    real_clock = harness.deps.clock
    harness.deps.clock = lambda: real_clock() + timedelta(hours=2)
    with pytest.raises(Exception, match="^Unauthorized$"):
        authorize(harness, f"Bearer {token}")


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
