"""The HTTP edge: problem+json for framework errors, CORS, request ids, 405 and preflight."""

from .support import unique


def test_malformed_json_is_400_problem(harness):
    r = harness.request("POST", "/users", raw=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json_body["type"] == "/problems/malformed-request"


def test_non_json_media_type_is_415_problem(harness):
    r = harness.request("POST", "/users", raw=b"username=x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert r.json_body["type"] == "/problems/unsupported-media-type"


def test_body_over_one_mib_is_413_even_when_not_json(harness):
    r = harness.request("POST", "/users", raw=b"x" * (1024 * 1024 + 1), headers={"Content-Type": "text/plain"})
    assert r.status_code == 413
    assert r.json_body["type"] == "/problems/payload-too-large"


def test_json_array_body_is_422_on_the_root_field(harness):
    r = harness.request("POST", "/users", [1, 2])
    assert r.status_code == 422
    assert r.json_body["errors"] == [{"field": "", "message": "must be a JSON object"}]


def test_wrong_method_is_405_with_allow(harness):
    r = harness.request("DELETE", "/health")
    assert r.status_code == 405
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json_body["type"] == "/problems/method-not-allowed"
    assert set(r.headers["Allow"].replace(" ", "").split(",")) == {"GET", "OPTIONS"}


def test_wrong_method_on_a_protected_path_needs_no_token(harness):
    r = harness.request("PUT", "/devices/abc")
    assert r.status_code == 405
    assert "PATCH" in r.headers["Allow"]


def test_preflight_answers_204_with_cors_headers(harness):
    r = harness.request("OPTIONS", "/devices/abc/readings",
                        headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "PATCH" in r.headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in r.headers["Access-Control-Allow-Headers"]
    assert r.headers["Access-Control-Max-Age"] == "600"


def test_every_response_carries_cors_and_request_id(harness):
    ok = harness.request("GET", "/health")
    bad = harness.request("POST", "/users", raw=b"[", headers={"Content-Type": "application/json"})
    for r in (ok, bad):
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert "X-Request-Id" in r.headers["Access-Control-Expose-Headers"]
        assert len(r.headers["X-Request-Id"]) == 26


def test_valid_caller_request_id_is_echoed_and_invalid_one_replaced(harness):
    mine = unique("req.")
    assert harness.request("GET", "/health", headers={"X-Request-Id": mine}).headers["X-Request-Id"] == mine
    replaced = harness.request("GET", "/health", headers={"X-Request-Id": "bad id!"}).headers["X-Request-Id"]
    assert replaced != "bad id!" and len(replaced) == 26


def test_cors_allow_list_echoes_a_listed_origin(harness):
    from dataclasses import replace
    harness.deps.settings = replace(harness.deps.settings, cors_origins=("https://a.test", "https://b.test"))
    r = harness.request("GET", "/health", headers={"Origin": "https://b.test"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://b.test"
    assert r.headers["Vary"] == "Origin"


def test_an_unexpected_error_is_a_500_problem_without_internals(harness, monkeypatch):
    def boom(*_args):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(harness.deps.users, "get_by_username", boom)
    r = harness.request("POST", "/auth/token", {"username": "someone", "password": "x"})
    assert r.status_code == 500
    assert r.json_body["type"] == "/problems/internal-error"
    assert "secret" not in r.body.decode()


def test_an_unreachable_table_is_a_503_problem(harness, monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    def down(*_args):
        raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
    monkeypatch.setattr(harness.deps.users, "get_by_username", down)
    r = harness.request("POST", "/auth/token", {"username": "someone", "password": "x"})
    assert r.status_code == 503
    assert r.json_body["type"] == "/problems/service-unavailable"
    assert r.headers["Retry-After"] == "1"


def test_a_stray_content_type_on_a_bodiless_request_is_not_415(harness):
    _, token = harness.user()
    d = harness.device(token)
    for method in ("GET", "DELETE"):
        r = harness.request(method, f"/devices/{d['id']}", token=token, headers={"Content-Type": "text/plain"})
        assert r.status_code in (200, 204), (method, r.body)


def test_head_is_served_by_the_get_view_behind_the_same_authorizer(harness):
    _, token = harness.user()
    got = harness.request("GET", "/devices", token=token)
    head = harness.request("HEAD", "/devices", token=token)
    assert head.status_code == got.status_code == 200
    assert harness.request("HEAD", "/devices").status_code == 401


def test_head_on_a_path_without_get_is_a_405_problem(harness):
    r = harness.request("HEAD", "/users")
    assert r.status_code == 405
    assert r.headers["Content-Type"] == "application/problem+json"
