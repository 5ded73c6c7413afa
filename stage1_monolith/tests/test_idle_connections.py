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
