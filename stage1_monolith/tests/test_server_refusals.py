"""What gunicorn itself answers in the real server: problem+json, and no software name."""
from __future__ import annotations

import json
import socket

import pytest
import requests

from stage1_monolith.tests.server_process import ServerProcess
from stage1_monolith.worker import _ProblemSocket

pytestmark = pytest.mark.slow


def exchange(port: int, data: bytes) -> tuple[str, dict, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    return status_line, {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}, body


@pytest.mark.parametrize("request_bytes, status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /health?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
    (b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(120)) + b"\r\n", 431),
], ids=["request-line", "long-uri", "big-header", "many-headers"])
def test_gunicorns_own_refusals_are_problems(stage1_server, request_bytes, status):
    status_line, headers, body = exchange(stage1_server.port, request_bytes)
    assert status_line.startswith(f"HTTP/1.1 {status} ")
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["type"] == "/problems/malformed-request" and problem["status"] == status
    assert "server" not in headers and headers.get("x-request-id")


def test_no_response_names_the_server(stage1_server):
    for path in ("/health", "/no-such-route"):
        assert "Server" not in requests.get(stage1_server.base_url + path, timeout=10).headers


def test_an_error_page_written_to_the_problem_socket_becomes_the_problem():
    sent = []

    class Sock:
        def sendall(self, data):
            sent.append(data)

        def gettimeout(self):
            return 0.0

    _ProblemSocket(Sock()).sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\n\r\n<html>")
    head, _, body = sent[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500 ") and b"text/html" not in head
    assert json.loads(body)["type"] == "/problems/internal-error"
    assert _ProblemSocket(Sock()).gettimeout() == 0.0


@pytest.fixture(scope="module")
def stage1_server(tmp_path_factory):
    with ServerProcess(tmp_path_factory.mktemp("refusals") / "data") as server:
        yield server
