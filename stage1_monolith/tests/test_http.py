"""The Flask edge: problem+json for every error, cross-cutting headers, auth, isolation."""
from __future__ import annotations

import io
import json

import pytest

from homesense_core.ratelimit import TokenBucket

from stage1_monolith.adapters.ports import StorageUnavailable
from stage1_monolith.web.app import create_app
from stage1_monolith.tests.conftest import signup, unique


def assert_problem(response, status: int, slug: str):
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.get_json(force=True)
    assert body["type"] == f"/problems/{slug}" and body["status"] == status and body["detail"]
    return body


def test_unknown_route_is_problem_404(client):
    assert_problem(client.get("/no/such/thing"), 404, "not-found")


def test_wrong_method_is_problem_405_with_allow(client):
    response = client.put("/devices")
    assert_problem(response, 405, "method-not-allowed")
    assert "POST" in response.headers["Allow"]


def test_body_over_one_mebibyte_is_problem_413(client):
    user = signup(client)
    response = client.post("/devices", data=b" " * (1024 * 1024 + 1), headers={**user["headers"], "Content-Type": "application/json"})
    assert_problem(response, 413, "payload-too-large")


def _chunked_post(client, path, data: bytes, headers):
    # As gunicorn hands over a chunked body: no Content-Length, the stream ends with the body.
    return client.post(path, input_stream=io.BytesIO(data), headers={**headers, "Content-Type": "application/json"},
                       environ_overrides={"wsgi.input_terminated": True})


def test_chunked_body_over_one_mebibyte_is_problem_413_not_a_cut_body(client):
    user = signup(client)
    body = b'{"name": "n", "kind": "power", "room": "' + b"r" * (1024 * 1024) + b'"}'
    assert_problem(_chunked_post(client, "/devices", body, user["headers"]), 413, "payload-too-large")


def test_chunked_body_of_exactly_one_mebibyte_is_read(client):
    user = signup(client)
    head, tail = b'{"name": "n", "kind": "power", "room": "', b'"}'
    body = head + b"r" * (1024 * 1024 - len(head) - len(tail)) + tail
    assert len(body) == 1024 * 1024
    body_problem = assert_problem(_chunked_post(client, "/devices", body, user["headers"]), 422, "validation-error")
    assert [e["field"] for e in body_problem["errors"]] == ["room"]  # parsed whole: only the room is too long


def test_non_json_body_is_problem_415(client):
    user = signup(client)
    assert_problem(client.post("/devices", data="name=x", headers={**user["headers"], "Content-Type": "text/plain"}), 415, "unsupported-media-type")


def test_broken_json_is_problem_400(client):
    user = signup(client)
    assert_problem(client.post("/devices", data="{", headers={**user["headers"], "Content-Type": "application/json"}), 400, "malformed-request")


def test_validation_errors_name_each_field(client):
    user = signup(client)
    body = assert_problem(client.post("/devices", json={"kind": "toaster", "extra": 1}, headers=user["headers"]), 422, "validation-error")
    assert {e["field"] for e in body["errors"]} == {"name", "kind", "extra"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not.a.jwt"}, {"Authorization": "Basic abc"}])
def test_protected_route_without_valid_token_is_401_with_challenge(client, headers):
    response = client.get("/me", headers=headers)
    assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_is_401(client, clock):
    user = signup(client)
    clock.advance(3600)
    assert_problem(client.get("/me", headers=user["headers"]), 401, "unauthorized")


def test_unexpected_exception_is_problem_500_without_internals(settings, signing_key, clock):
    def broken_uow(write=False):
        raise RuntimeError("secret internals")

    client = create_app(settings, uow=broken_uow, signing_key=signing_key, clock=clock).test_client()
    body = assert_problem(client.post("/users", json={"username": unique(), "password": "long-enough"}), 500, "internal-error")
    assert "secret" not in body["detail"]


def test_unavailable_storage_is_problem_503(settings, signing_key, clock):
    def down_uow(write=False):
        raise StorageUnavailable("database is locked")

    client = create_app(settings, uow=down_uow, signing_key=signing_key, clock=clock).test_client()
    assert_problem(client.post("/users", json={"username": unique(), "password": "long-enough"}), 503, "service-unavailable")


def test_rate_limit_answers_429_with_retry_after(settings, memory_uow, signing_key, clock):
    limiter = TokenBucket(rate=0.5, burst=2, clock=lambda: 0.0)
    client = create_app(settings, uow=memory_uow, signing_key=signing_key, clock=clock, limiter=limiter).test_client()
    assert [client.get("/health").status_code for _ in range(2)] == [200, 200]
    response = client.get("/health")
    assert_problem(response, 429, "rate-limited")
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_preflight_on_any_path_is_204_with_cors(client):
    response = client.options("/anything/at/all", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
    assert response.status_code == 204
    assert "Idempotency-Key" in response.headers["Access-Control-Allow-Headers"]
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]


def test_configured_origins_are_echoed_only_when_listed(memory_uow, signing_key, clock, tmp_path):
    from stage1_monolith.settings import Settings

    settings = Settings(data_dir=tmp_path, cors_origins=("https://app.example",))
    client = create_app(settings, uow=memory_uow, signing_key=signing_key, clock=clock).test_client()
    listed = client.get("/health", headers={"Origin": "https://app.example"})
    other = client.get("/health", headers={"Origin": "https://evil.example"})
    assert listed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert other.headers["Access-Control-Allow-Origin"] != "https://evil.example"


def test_valid_request_id_is_echoed_and_invalid_one_replaced(client):
    assert client.get("/health", headers={"X-Request-Id": "abc.123_x-y"}).headers["X-Request-Id"] == "abc.123_x-y"
    replaced = client.get("/nope", headers={"X-Request-Id": "bad id!"}).headers["X-Request-Id"]
    assert replaced and replaced != "bad id!"


def test_health_names_the_stage(client):
    assert client.get("/health").get_json() == {"status": "ok", "stage": "monolith", "version": "1.0.0"}


def test_jwks_publishes_the_signing_key(client, signing_key):
    assert client.get("/.well-known/jwks.json").get_json() == signing_key.jwks()


def test_device_lifecycle_with_location_and_isolation(client):
    alice, bob = signup(client), signup(client)
    created = client.post("/devices", json={"name": "Hall", "kind": "temperature"}, headers=alice["headers"])
    assert created.status_code == 201
    assert created.headers["Location"] == f"/devices/{created.get_json()['id']}"
    path = created.headers["Location"]
    assert_problem(client.get(path, headers=bob["headers"]), 404, "not-found")
    assert_problem(client.delete(path, headers=bob["headers"]), 404, "not-found")
    assert client.patch(path, json={"low_threshold": 1}, headers=alice["headers"]).get_json()["low_threshold"] == 1
    assert client.delete(path, headers=alice["headers"]).status_code == 204
    assert_problem(client.get(path, headers=alice["headers"]), 404, "not-found")


def test_idempotent_device_create_replays_status_body_and_location(client):
    user = signup(client)
    headers = {**user["headers"], "Idempotency-Key": unique("key")}
    first = client.post("/devices", json={"name": "A", "kind": "co2"}, headers=headers)
    again = client.post("/devices", json={"kind": "co2", "name": "A"}, headers=headers)
    assert (again.status_code, again.get_json(), again.headers["Location"]) == (201, first.get_json(), first.headers["Location"])
    assert len(client.get("/devices", headers=user["headers"]).get_json()["items"]) == 1
    different = client.post("/devices", json={"name": "B", "kind": "co2"}, headers=headers)
    assert assert_problem(different, 422, "validation-error")["errors"][0]["field"] == "Idempotency-Key"


def test_bad_idempotency_key_is_422(client):
    user = signup(client)
    response = client.post("/devices", json={"name": "A", "kind": "co2"}, headers={**user["headers"], "Idempotency-Key": "has space"})
    assert assert_problem(response, 422, "validation-error")["errors"][0]["field"] == "Idempotency-Key"


def test_query_errors_name_the_parameter(client):
    user = signup(client)
    device = client.post("/devices", json={"name": "A", "kind": "co2"}, headers=user["headers"]).get_json()
    body = assert_problem(client.get(f"/devices/{device['id']}/readings?limit=0&order=up", headers=user["headers"]), 422, "validation-error")
    assert {e["field"] for e in body["errors"]} == {"limit", "order"}


def test_websocket_with_bad_token_is_refused_before_upgrade(client):
    response = client.get("/ws?token=nope", headers={"Upgrade": "websocket", "Connection": "Upgrade",
                                                    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"})
    assert_problem(response, 401, "unauthorized")


def test_another_users_alert_is_404_and_ack_of_resolved_is_409(app, client, memory_uow, clock, hub):
    from stage1_monolith.background import OutboxWorker

    alice, bob = signup(client), signup(client)
    device = client.post("/devices", json={"name": "A", "kind": "co2", "high_threshold": 1000}, headers=alice["headers"]).get_json()
    for value in (1500, 400):
        assert client.post(f"/devices/{device['id']}/readings", json={"readings": [{"value": value}]}, headers=alice["headers"]).status_code == 202
    OutboxWorker(memory_uow, clock, hub.publish).run_once()
    (alert,) = client.get("/alerts", headers=alice["headers"]).get_json()["items"]
    assert_problem(client.get(f"/alerts/{alert['id']}", headers=bob["headers"]), 404, "not-found")
    assert_problem(client.post(f"/alerts/{alert['id']}/ack", headers=bob["headers"]), 404, "not-found")
    assert_problem(client.post(f"/alerts/{alert['id']}/ack", headers=alice["headers"]), 409, "conflict")
    assert client.get("/alerts", headers=bob["headers"]).get_json() == {"items": [], "next_cursor": None}


def test_docs_spec_and_dashboard_are_served_with_this_hosts_url(client):
    spec = client.get("/openapi.yaml", base_url="http://127.0.0.1:8123")
    assert spec.status_code == 200 and spec.headers["Content-Type"].startswith("application/yaml")
    assert b"  - url: http://127.0.0.1:8123\n" in spec.data
    assert spec.headers["Access-Control-Allow-Origin"] == "*" and spec.headers["X-Request-Id"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and b"swagger-ui-bundle.js" in docs.data
    assert client.get("/docs/swagger-ui-bundle.js").headers["Content-Type"].startswith("text/javascript")
    dashboard = client.get("/dashboard", base_url="http://127.0.0.1:8123")
    assert b'"wsUrl": "ws://127.0.0.1:8123/ws"' in dashboard.data
    assert_problem(client.get("/docs/nothing.js"), 404, "not-found")
    assert_problem(client.post("/docs"), 405, "method-not-allowed")


def test_a_crlf_in_the_path_cannot_forge_an_access_log_line(client, capsys):
    import logging

    from stage1_monolith.logs import configure_logging
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("INFO")
        client.get("/health%0d%0a2026-11-29 INFO stage1_monolith.access rid=x POST /admin 200")
        for handler in logging.getLogger().handlers:
            handler.flush()
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    lines = [line for line in capsys.readouterr().err.splitlines() if "stage1_monolith.access" in line]
    assert len(lines) == 1, lines
    assert "\\x0d\\x0a2026-11-29" in json.loads(lines[0])["message"], lines
