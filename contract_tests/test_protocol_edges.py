"""The edges every layer shares: its own refusals are problem+json, bodies are judged whole
(chunked, UTF-8), HEAD is GET without a body, and no response names the server software."""
import json
import socket
import ssl
from urllib.parse import urlsplit

import pytest
import requests

from contract_tests.support import PROBLEM_CT, assert_problem, describe, unique

pytestmark = pytest.mark.timeout(60)
MIB = 1024 * 1024
# Far beyond any layer's header limit (gunicorn 8 KiB a line, Envoy 60 KiB, API Gateway 10 KiB).
OVERSIZE = 70_000
# Headers that name (and often version) the software behind the API: attackers' first clue.
REVEALING = ("server", "x-powered-by")
REVEALING_PREFIXES = ("x-envoy-",)


class RawResponse:
    """Status, lower-cased headers and body of one response read off a socket."""

    def __init__(self, raw: bytes):
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status_line = lines[0]
        self.status = int(lines[0].split(" ", 2)[1])
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()

    def __repr__(self):
        return f"{self.status_line} {self.headers} {self.body[:300]!r}"


def _connect(base_url: str) -> tuple[socket.socket, str, str]:
    """A socket to the deployment, its Host header value and its path prefix."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    sock = socket.create_connection((parts.hostname, port), timeout=20)
    if parts.scheme == "https":
        sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
    return sock, parts.netloc, parts.path.rstrip("/")


def _read_response(sock: socket.socket) -> RawResponse:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    response = RawResponse(data)
    length = int(response.headers.get("content-length", "0"))
    while len(response.body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        response.body += chunk
    return response


def raw_exchange(base_url: str, build) -> RawResponse:
    """Send build(host, prefix) as bytes on a fresh connection; the first response read back."""
    sock, host, prefix = _connect(base_url)
    try:
        try:
            sock.sendall(build(host, prefix))
        except OSError:
            pass  # a server may answer and close before it read everything; the answer counts
        return _read_response(sock)
    finally:
        sock.close()


def assert_raw_problem(r: RawResponse, statuses: tuple[int, ...]) -> dict:
    """A refusal of the HTTP layer: one of statuses, the malformed-request problem with that status."""
    assert r.status in statuses, r
    assert r.headers.get("content-type", "").split(";")[0].strip() == PROBLEM_CT, r
    body = json.loads(r.body)
    assert set(body) == {"type", "title", "status", "detail"}, r
    assert body["type"] == "/problems/malformed-request", r
    assert body["status"] == r.status and body["title"] and isinstance(body["detail"], str), r
    return body


def assert_no_software_names(headers) -> None:
    names = {k.lower() for k in headers}
    assert not names & set(REVEALING), dict(headers)
    assert not [n for n in names if n.startswith(REVEALING_PREFIXES)], dict(headers)


# --- refusals of the HTTP layer itself (gunicorn, Envoy, the API Gateway's server) -------------

def test_an_unparseable_request_line_is_a_400_problem(base_url):
    r = raw_exchange(base_url, lambda host, prefix: b"GARBAGE\r\n\r\n")
    assert_raw_problem(r, (400,))
    assert_no_software_names(r.headers)


def test_a_header_over_the_size_limit_is_a_431_problem(base_url):
    r = raw_exchange(base_url, lambda host, prefix: (
        f"GET {prefix}/health HTTP/1.1\r\nHost: {host}\r\nX-Big: {'a' * OVERSIZE}\r\n\r\n").encode())
    assert_raw_problem(r, (431,))
    assert_no_software_names(r.headers)


def test_a_request_line_over_the_size_limit_is_a_414_or_431_problem(base_url):
    # gunicorn limits the request line on its own (414); Envoy and hypercorn count it with the headers (431).
    r = raw_exchange(base_url, lambda host, prefix: (
        f"GET {prefix}/health?pad={'a' * OVERSIZE} HTTP/1.1\r\nHost: {host}\r\n\r\n").encode())
    assert_raw_problem(r, (414, 431))
    assert_no_software_names(r.headers)


def test_http_1_0_is_served_or_refused_as_a_problem(base_url):
    r = raw_exchange(base_url, lambda host, prefix: (
        f"GET {prefix}/health HTTP/1.0\r\nHost: {host}\r\n\r\n").encode())
    if r.status == 200:
        assert json.loads(r.body)["status"] == "ok", r
    else:  # Envoy speaks HTTP/1.1 and newer only: 426, as a problem
        assert_raw_problem(r, (426,))
    assert_no_software_names(r.headers)


# --- bodies are judged whole -------------------------------------------------------------------

def _chunked(size: int, prefix: bytes, suffix: bytes):
    """A body sent with Transfer-Encoding: chunked (no Content-Length), 64 KiB at a time."""
    yield prefix
    sent = 0
    while sent < size:
        step = min(65536, size - sent)
        yield b"x" * step
        sent += step
    yield suffix


def test_a_chunked_body_over_1_mib_is_413_and_stores_nothing(api, shared_user):
    d = api.create_device(shared_user)
    body = _chunked(MIB + 16, b'{"readings": [{"value": 1}], "pad": "', b'"}')
    r = requests.post(api.url(f"/devices/{d['id']}/readings"), data=body, timeout=30,
                      headers={**shared_user.headers, "Content-Type": "application/json"})
    assert_problem(r, 413, "payload-too-large")
    assert api.readings(shared_user, d["id"]) == []


def test_a_chunked_body_over_1_mib_on_a_public_route_is_413(api):
    name = unique()
    body = _chunked(MIB + 16, json.dumps({"username": name}).encode()[:-1] + b', "password": "', b'"}')
    r = requests.post(api.url("/users"), data=body, timeout=30, headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "payload-too-large")
    assert api.post("/users", json={"username": name, "password": "password1"}).status_code == 201


def test_a_chunked_body_under_1_mib_is_read_whole(api, shared_user):
    d = api.create_device(shared_user)
    r = requests.patch(api.url(f"/devices/{d['id']}"), data=_chunked(4000, b'{"room": "', b'"}'), timeout=30,
                       headers={**shared_user.headers, "Content-Type": "application/json"})
    # The whole body was read: a 4000-character room breaks the 100-character rule, so 422.
    assert r.status_code == 422, describe(r)
    assert api.get(f"/devices/{d['id']}", user=shared_user).json() == d


@pytest.mark.parametrize("raw", [
    b'{"name": "\xff\xfe", "kind": "power"}',            # bytes that never occur in UTF-8
    b'{"name": "caf\xe9", "kind": "power"}',             # Latin-1, not UTF-8
    b'{"name": "\xed\xa0\x80", "kind": "power"}',        # an encoded surrogate
], ids=["ff-fe", "latin-1", "surrogate"])
def test_invalid_utf8_in_a_json_body_is_400_and_creates_nothing(api, shared_user, raw):
    before = api.collect("/devices", shared_user)
    r = api.post("/devices", user=shared_user, data=raw, headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "malformed-request")
    assert api.collect("/devices", shared_user) == before


def test_valid_non_ascii_utf8_is_kept_exactly(api, shared_user):
    name = "Küche ☃ \ufffd"
    r = api.post("/devices", user=shared_user, data=json.dumps({"name": name, "kind": "power"}, ensure_ascii=False)
                 .encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 201, describe(r)
    assert api.get(f"/devices/{r.json()['id']}", user=shared_user).json()["name"] == name


# --- HEAD is GET without the body ---------------------------------------------------------------

@pytest.fixture(scope="module")
def head_paths(api, shared_user):
    d = api.create_device(shared_user)
    return ["/health", "/me", "/devices", f"/devices/{d['id']}", f"/devices/{d['id']}/readings",
            f"/devices/{d['id']}/readings/summary", "/alerts"]


def test_head_answers_like_get_with_no_body(api, shared_user, head_paths):
    for path in head_paths:
        user = None if path == "/health" else shared_user
        got = api.get(path, user=user)
        head = api.request("HEAD", path, user=user, headers={"X-Request-Id": "head-check-1"})
        assert head.status_code == got.status_code == 200, (path, describe(head))
        assert head.headers.get("Content-Type") == got.headers.get("Content-Type"), path
        assert head.content == b"", path
        assert head.headers.get("X-Request-Id") == "head-check-1", path
        assert head.headers.get("Access-Control-Allow-Origin"), path


@pytest.mark.parametrize("path", ["/health", "/me", "/devices"])
def test_head_sends_no_body_on_the_wire(base_url, shared_user, path):
    # A HEAD answered with a body would corrupt the next response on the same connection.
    auth = f"Authorization: Bearer {shared_user.token}\r\n"
    sock, host, prefix = _connect(base_url)
    try:
        sock.sendall((f"HEAD {prefix}{path} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n"
                      f"GET {prefix}/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    finally:
        sock.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    assert RawResponse(head).status == 200, data
    # The GET's answer follows the HEAD's headers at once, and its body is the whole health document.
    assert rest.startswith(b"HTTP/1.1 200"), data
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["status"] == "ok", data


def test_head_needs_a_token_where_get_does(api):
    r = api.request("HEAD", "/devices")
    assert r.status_code == 401, describe(r)
    assert r.headers.get("WWW-Authenticate", "").lower().startswith("bearer")
    assert r.headers.get("Content-Type", "").startswith(PROBLEM_CT)


def test_head_on_an_unknown_path_is_404(api, shared_user):
    for user in (None, shared_user):
        r = api.request("HEAD", "/no-such-route", user=user)
        assert r.status_code == 404, describe(r)
        assert r.headers.get("Content-Type", "").startswith(PROBLEM_CT)


@pytest.mark.parametrize("path", ["/users", "/auth/token"])
def test_head_on_a_path_without_get_is_405(api, path):
    r = api.request("HEAD", path)
    assert r.status_code == 405, describe(r)
    assert r.headers.get("Content-Type", "").startswith(PROBLEM_CT)


# --- no software names ---------------------------------------------------------------------------

def test_no_response_names_the_server_software(api, shared_user):
    d = api.create_device(shared_user)
    responses = [
        api.get("/health"),
        api.get("/devices", user=shared_user),
        api.post("/devices", user=shared_user, json={"name": unique(), "kind": "power"}),
        api.post(f"/devices/{d['id']}/readings", user=shared_user, json={"readings": [{"value": 1}]}),
        api.get("/devices"),                                         # 401 from the authorizer
        api.get("/no-such-route"),                                   # 404
        api.request("PUT", "/devices", user=shared_user, json={}),   # 405
        api.post("/users", data=b"{", headers={"Content-Type": "application/json"}),  # 400
        api.request("OPTIONS", "/devices", headers={"Origin": "https://example.test",
                                                    "Access-Control-Request-Method": "GET"}),
    ]
    for r in responses:
        assert r.status_code < 500, describe(r)
        assert_no_software_names(r.headers)
