"""The real server process: readiness, clean stop, and nothing lost to SIGKILL."""
from __future__ import annotations

import http.client
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from homesense_core.integration_events import ReadingsAccepted

from stage1_monolith.tests.conftest import unique
from stage1_monolith.tests.server_process import ServerProcess, new_account, wait_for

pytestmark = pytest.mark.slow


def alerts_of(base_url, headers, device_id):
    return requests.get(f"{base_url}/alerts", params={"device_id": device_id}, headers=headers, timeout=30).json()["items"]


def _pending_outbox(data_dir) -> list[int]:
    """Ids of reading.accepted outbox rows not yet handled, read straight from the database file."""
    with sqlite3.connect(data_dir / "homesense.sqlite3") as db:
        return [row[0] for row in db.execute("SELECT id FROM outbox WHERE processed_at IS NULL"
                                             " AND topic = ? ORDER BY id", [ReadingsAccepted.NAME])]


def _cycle(i: int) -> list[dict]:
    """Opens a low alert (first_value -i, reading_count 2), then resolves it; padded to keep the worker busy."""
    return [{"value": -i}, {"value": -i - 0.5}] + [{"value": 20.0}] * 298


def test_sigkill_with_undelivered_outbox_rows_then_each_is_handled_exactly_once(tmp_path):
    data = tmp_path / "data"
    cycles, writers = 6, 8
    for attempt in range(1, 4):
        server = ServerProcess(data).start()
        try:
            base = server.base_url
            headers = new_account(base, unique())
            devices = [requests.post(f"{base}/devices", json={"name": "Cellar", "kind": "temperature",
                                                               "low_threshold": 10}, headers=headers,
                                     timeout=30).json()["id"] for _ in range(writers)]

            def send(device):
                for i in range(cycles):
                    r = requests.post(f"{base}/devices/{device}/readings", json={"readings": _cycle(i)},
                                      headers=headers, timeout=60)
                    assert r.status_code == 202 and r.json() == {"accepted": 300}, r.text

            # Eight writers at once: the one outbox worker falls behind the accepted batches.
            with ThreadPoolExecutor(writers) as pool:
                list(pool.map(send, devices))
        finally:
            server.kill()  # right after the last 202: no drain, no cleanup
        pending = _pending_outbox(data)
        if pending:
            break
    # The kill landed before the outbox drained (else the test proves nothing about the restart).
    assert pending, "three attempts and the outbox had drained before every kill"

    with ServerProcess(data) as restarted:
        base = restarted.base_url  # the same token works: the signing key was persisted
        assert wait_for(lambda: not _pending_outbox(data), timeout=30), _pending_outbox(data)
        for device in devices:
            summary = requests.get(f"{base}/devices/{device}/readings/summary", headers=headers, timeout=30).json()
            assert summary["count"] == 300 * cycles
            found = alerts_of(base, headers, device)
            # Each accepted batch opened exactly one alert: none lost with the kill, none repeated.
            assert sorted(a["first_value"] for a in found) == sorted(-i for i in range(cycles)), found
            assert all((a["status"], a["reading_count"]) == ("resolved", 2) for a in found), found
        print(f"\n[fault] stage 1 SIGKILL: attempt {attempt}, {len(pending)} of {writers * cycles} "
              f"batches' outbox rows undelivered at the kill, all handled once after the restart")
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
