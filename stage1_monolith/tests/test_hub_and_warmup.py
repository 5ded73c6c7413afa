"""WebSocket hub fan-out and the warm-up front that answers /health while the app loads."""
from __future__ import annotations

import json
import threading

from homesense_core.ratelimit import TokenBucket

from stage1_monolith.hub import Hub
from stage1_monolith.warmup import WarmingApp


class FakeConnection:
    def __init__(self, fail: bool = False):
        self.sent: list[dict] = []
        self.fail = fail

    def send(self, data: str) -> None:
        if self.fail:
            raise OSError("closed")
        self.sent.append(json.loads(data))

    def close(self, reason=None, message=None) -> None:
        self.closed = True


def test_hub_publishes_only_to_the_owners_connections():
    hub, mine, theirs, broken = Hub(), FakeConnection(), FakeConnection(), FakeConnection(fail=True)
    hub.register("alice", mine)
    hub.register("alice", broken)
    hub.register("bob", theirs)
    assert hub.publish("alice", {"type": "alert.opened"}) == 1
    assert (mine.sent, theirs.sent) == ([{"type": "alert.opened"}], [])
    hub.unregister("alice", mine)
    assert hub.connection_count("alice") == 1


def call(app, path, method="GET"):
    result = {}

    def start_response(status, headers):
        result["status"], result["headers"] = status, dict(headers)

    body = b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": method, "REMOTE_ADDR": "127.0.0.1"}, start_response))
    return result["status"], result["headers"], body


def test_health_answers_while_the_app_is_still_building():
    release = threading.Event()

    def slow_build():
        release.wait(5)
        return lambda environ, start_response: (start_response("200 OK", []), [b"real"])[1]

    front = WarmingApp(slow_build, TokenBucket(100, 100), ["*"])
    front.start()
    status, headers, body = call(front, "/health")
    assert status == "200 OK" and json.loads(body)["stage"] == "monolith"
    assert headers["X-Request-Id"] and headers["Access-Control-Allow-Origin"] == "*"
    release.set()
    assert call(front, "/devices")[2] == b"real"  # other requests wait for the real app


def test_failed_build_answers_503_and_reports_failure():
    failures = []

    def broken_build():
        raise RuntimeError("no database")

    front = WarmingApp(broken_build, TokenBucket(100, 100), ["*"], wait_seconds=5, on_failure=lambda: failures.append(1))
    front.start()
    assert not front.wait_ready(5)
    status, headers, body = call(front, "/devices")
    assert status.startswith("503") and json.loads(body)["type"] == "/problems/service-unavailable"
    assert failures == [1]
