"""Stage 1 keeps serving while hundreds of clients hold idle connections (issue: 64 idle
connections, the thread count, used to stall every request for seconds)."""
from __future__ import annotations

import socket
import time

import pytest
import requests

from stage1_monolith.tests.server_process import ServerProcess

IDLE = 500
pytestmark = pytest.mark.timeout(60)


def _latency(url: str) -> float:
    began = time.monotonic()
    r = requests.get(url, timeout=10)
    assert r.status_code == 200
    return time.monotonic() - began


def test_500_idle_connections_do_not_slow_other_clients(tmp_path):
    server = ServerProcess(tmp_path / "data").start()
    idle: list[socket.socket] = []
    try:
        url = server.base_url + "/health"
        baseline = max(_latency(url) for _ in range(5))
        host, port = "127.0.0.1", int(server.base_url.rsplit(":", 1)[1])
        for _ in range(IDLE):
            # Connected and silent: a client that never sends its request (or sends it slowly).
            idle.append(socket.create_connection((host, port), timeout=5))
        time.sleep(0.5)
        worst = max(_latency(url) for _ in range(20))
        print(f"baseline {baseline * 1000:.0f} ms, worst with {IDLE} idle connections {worst * 1000:.0f} ms")
        assert worst < max(1.0, 10 * baseline), f"{worst:.2f} s with {IDLE} idle connections open"
    finally:
        for s in idle:
            s.close()
        server.stop()


SLOW = 100


def test_clients_that_send_their_headers_slowly_do_not_slow_other_clients(tmp_path):
    """A slowloris: each connection sends a request line, then one header byte every 0.5 s and
    never finishes. More of them than there are threads must not hold the threads."""
    server = ServerProcess(tmp_path / "data").start()
    slow: list[socket.socket] = []
    try:
        url = server.base_url + "/health"
        baseline = max(_latency(url) for _ in range(5))
        host, port = "127.0.0.1", int(server.base_url.rsplit(":", 1)[1])
        for _ in range(SLOW):
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append(s)
        worst, closed_by_server, began = 0.0, set(), time.monotonic()
        while time.monotonic() - began < 8:
            for i, s in enumerate(slow):
                if i in closed_by_server:
                    continue
                try:
                    s.sendall(b"a")
                except OSError:  # the server gave up on it: what we want after its deadline
                    closed_by_server.add(i)
            worst = max(worst, _latency(url))
            time.sleep(0.5)
        print(f"baseline {baseline * 1000:.0f} ms, worst with {SLOW} slow clients {worst * 1000:.0f} ms, "
              f"{len(closed_by_server)} of them closed by the server")
        assert worst < max(1.0, 10 * baseline), f"{worst:.2f} s with {SLOW} slow clients"
        # None of them ever got an answer: each was dropped at the header deadline (keepalive, 5 s).
        assert len(closed_by_server) == SLOW
    finally:
        for s in slow:
            s.close()
        server.stop()
