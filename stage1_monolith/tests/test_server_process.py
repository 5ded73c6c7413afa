"""The real server process: readiness, clean stop, and nothing lost to SIGKILL."""
from __future__ import annotations

import http.client
import sqlite3

import pytest
import requests

from stage1_monolith.tests.conftest import unique
from stage1_monolith.tests.server_process import ServerProcess, new_account, wait_for

pytestmark = pytest.mark.slow


def alerts_of(base_url, headers, device_id):
    return requests.get(f"{base_url}/alerts", params={"device_id": device_id}, headers=headers, timeout=30).json()["items"]


def test_accepted_readings_and_their_alert_survive_sigkill(tmp_path):
    server = ServerProcess(tmp_path / "data").start()
    try:
        base = server.base_url
        assert server.ready["ws_url"] == base.replace("http://", "ws://") + "/ws"
        headers = new_account(base, unique())
        device = requests.post(f"{base}/devices", json={"name": "Cellar", "kind": "temperature", "low_threshold": 10},
                               headers=headers, timeout=30).json()
        batch = [{"value": 20.0}] * 150 + [{"value": 5.0}] * 50
        response = requests.post(f"{base}/devices/{device['id']}/readings", json={"readings": batch}, headers=headers, timeout=30)
        assert response.status_code == 202 and response.json() == {"accepted": 200}
    finally:
        server.kill()  # immediately: the worker may not have evaluated the batch yet

    with ServerProcess(tmp_path / "data") as restarted:
        base = restarted.base_url  # the same token works: the signing key was persisted
        summary = requests.get(f"{base}/devices/{device['id']}/readings/summary", headers=headers, timeout=30).json()
        assert (summary["count"], summary["min"], summary["max"]) == (200, 5.0, 20.0)
        found = wait_for(lambda: alerts_of(base, headers, device["id"]), timeout=10)
        assert len(found) == 1
        assert (found[0]["kind"], found[0]["status"], found[0]["reading_count"]) == ("low", "open", 50)
        assert restarted.stop() == 0


def test_escalation_continues_after_a_restart(tmp_path):
    server = ServerProcess(tmp_path / "data").start()
    try:
        base = server.base_url
        headers = new_account(base, unique())
        device = requests.post(f"{base}/devices", json={"name": "Loft", "kind": "temperature", "low_threshold": 10,
                                                        "escalation_after_seconds": 2}, headers=headers, timeout=30).json()
        requests.post(f"{base}/devices/{device['id']}/readings", json={"readings": [{"value": 1.0}]}, headers=headers, timeout=30)
        assert wait_for(lambda: alerts_of(base, headers, device["id"]), timeout=10)
    finally:
        server.kill()

    with sqlite3.connect(tmp_path / "data" / "homesense.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM escalations").fetchone() == (1,)

    with ServerProcess(tmp_path / "data") as restarted:
        at_top = wait_for(lambda: [a for a in alerts_of(restarted.base_url, headers, device["id"]) if a["level"] == 3], timeout=15)
        assert len(at_top) == 1 and at_top[0]["escalated_at"] is not None


def test_signing_key_is_private_and_survives_restarts(tmp_path):
    with ServerProcess(tmp_path / "data") as first:
        jwks = requests.get(f"{first.base_url}/.well-known/jwks.json", timeout=30).json()
    assert (tmp_path / "data" / "signing-key.pem").stat().st_mode & 0o777 == 0o600
    with ServerProcess(tmp_path / "data") as second:
        assert requests.get(f"{second.base_url}/.well-known/jwks.json", timeout=30).json() == jwks


def test_a_keep_alive_connection_still_works_after_a_413(tmp_path):
    with ServerProcess(tmp_path / "data") as server, requests.Session() as session:
        too_big = b'{"username": "' + b"x" * (1024 * 1024 + 10) + b'"}'
        refused = session.post(f"{server.base_url}/users", data=too_big,
                               headers={"Content-Type": "application/json"}, timeout=30)
        assert refused.status_code == 413
        assert refused.headers["Content-Type"] == "application/problem+json"
        # The same pooled connection carries the next request: the unread body was drained.
        assert session.get(f"{server.base_url}/health", timeout=30).status_code == 200


def test_a_keep_alive_connection_survives_any_unread_body(tmp_path):
    # Bodies left unread (too big, no token, no route), each past gunicorn's own 64 KiB drain.
    body = b'{"name": "' + b"x" * (500 * 1024) + b'"}'
    too_big = b'{"username": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    with ServerProcess(tmp_path / "data") as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            for path, payload, status in (("/users", too_big, 413), ("/devices", body, 401), ("/no-such-path", body, 404)):
                conn.request("POST", path, body=payload, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                assert response.status == status
                sock = conn.sock
                conn.request("GET", "/health")
                health = conn.getresponse()
                health.read()
                assert health.status == 200 and conn.sock is sock
        finally:
            conn.close()
