"""Unknown paths reach the app through the catch-all routes: 404 problem, preflight 204, never 405."""

import json

import pytest
from chalice import Chalice
from chalice.local import LambdaContext

from chalicelib import web
from homesense_core.http import CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_MAX_AGE
from homesense_core.problems import PROBLEM_TYPES

from .support import unique


def gateway_event(method, path, resource, path_parameters, headers=None):
    """The AWS_PROXY event API Gateway sends when `path` matched the `resource` route."""
    headers = dict(headers or {})
    return {"resource": resource, "path": path, "httpMethod": method, "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": path_parameters, "stageVariables": None, "body": None,
            "isBase64Encoded": False,
            "requestContext": {"resourcePath": resource, "httpMethod": method, "path": f"/api{path}",
                               "stage": "api", "requestId": "gw-request-id"}}


def invoke(harness, method, path, headers=None):
    """API Gateway's view of an unmatched path: the greedy {proxy+} resource (or the root)."""
    if path == "/":
        event = gateway_event(method, path, "/", None, headers)
    else:
        event = gateway_event(method, path, "/{proxy+}", {"proxy": path.lstrip("/")}, headers)
    return harness.app(event, LambdaContext("api_handler", memory_size=1024))


@pytest.mark.parametrize("path", ["/no-such-route", "/devices/x/y/z", "/users/me/extra", "/"])
@pytest.mark.parametrize("method", web.ALL_METHODS)
def test_any_method_on_an_unknown_path_is_a_404_problem_from_the_app(harness, path, method):
    request_id = unique("req.")
    out = invoke(harness, method, path, {"X-Request-Id": request_id})
    assert out["statusCode"] == 404
    assert out["headers"]["Content-Type"] == "application/problem+json"
    assert out["headers"]["X-Request-Id"] == request_id  # the caller's, not the gateway's
    assert out["headers"]["Access-Control-Allow-Origin"] == "*"
    assert json.loads(out["body"]) == {"type": "/problems/not-found", "title": PROBLEM_TYPES["not-found"][1],
                                       "status": 404, "detail": "No such route."}


@pytest.mark.parametrize("path", ["/no-such-route", "/devices/x/y/z", "/"])
def test_preflight_on_an_unknown_path_answers_the_cors_policy(harness, path):
    out = invoke(harness, "OPTIONS", path, {"Origin": "https://app.example",
                                            "Access-Control-Request-Method": "PUT"})
    assert out["statusCode"] == 204
    headers = out["headers"]
    assert headers["Access-Control-Allow-Methods"] == CORS_ALLOW_METHODS
    assert headers["Access-Control-Allow-Headers"] == CORS_ALLOW_HEADERS
    assert headers["Access-Control-Max-Age"] == CORS_MAX_AGE
    assert len(headers["X-Request-Id"]) == 26


def test_unknown_path_is_404_with_a_token_too_and_runs_no_authorizer(harness):
    _, token = harness.user()
    # Through Chalice's local gateway, which matches {proxy+} for one segment only.
    for headers in ({}, {"Authorization": f"Bearer {token}"}, {"Authorization": "Bearer junk"}):
        r = harness.request("GET", "/no-such-route", headers=headers)
        assert r.status_code == 404 and r.json_body["type"] == "/problems/not-found", r.body


def test_complete_routes_gives_known_paths_405_and_leaves_the_catch_all_to_404():
    app = Chalice(app_name="routes-under-test")
    app.route("/things", methods=["GET"])(lambda: {})
    web.complete_routes(app)
    assert sorted(app.routes) == ["/", "/things", "/{proxy+}"]
    assert app.routes["/things"]["PUT"].view_name.startswith("method_not_allowed")
    # HEAD is GET without the body: the same view (and authorizer) as GET.
    assert app.routes["/things"]["HEAD"].view_function is app.routes["/things"]["GET"].view_function
    for path in web.CATCH_ALL_PATHS:
        entries = app.routes[path]
        assert sorted(entries) == sorted([*web.ALL_METHODS, "HEAD", "OPTIONS"])
        assert {entries[m].view_name.split("_")[0] for m in web.ALL_METHODS} == {"not"}
        assert all(entries[m].authorizer is None for m in entries)


def test_complete_routes_refuses_an_app_that_claims_a_catch_all_path():
    app = Chalice(app_name="routes-under-test")
    app.route("/{proxy+}", methods=["GET"])(lambda: {})
    with pytest.raises(ValueError, match="reserved"):
        web.complete_routes(app)
