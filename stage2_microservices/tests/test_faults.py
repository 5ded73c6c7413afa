"""Fault tests on the real stage-2 topology: crashes and restarts lose nothing and duplicate nothing.

Each test counts what it sent (202-accepted batches) and what arrived (readings, alerts).
Every accepted batch is one "cycle" for a device with low_threshold 10:
[-i, -i - 0.5, 20] opens a low alert with first_value -i, updates it, and resolves it. So the
alerts of a device must be exactly one per accepted cycle, each resolved with reading_count 2.
"""
from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests

PROBLEM = "application/problem+json"
CONVERGE_S = 45


class Client:
    """A signed-in user talking to the gateway."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()
        name = f"fault-{uuid.uuid4().hex[:12]}"
        password = "correct-horse-battery"
        self.post("/users", {"username": name, "password": password}).raise_for_status()
        token = self.post("/auth/token", {"username": name, "password": password}).json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"

    def post(self, path: str, body: dict) -> requests.Response:
        return self.session.post(self.base_url + path, json=body, timeout=10)

    def get(self, path: str, **params) -> requests.Response:
        return self.session.get(self.base_url + path, params=params, timeout=10)

    def new_device(self) -> str:
        response = self.post("/devices", {"name": "freezer", "kind": "temperature", "unit": "C",
                                          "low_threshold": 10, "escalation_after_seconds": 86400})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def alerts_of(self, device_id: str) -> list[dict]:
        items, cursor = [], None
        while True:
            params = {"device_id": device_id, "limit": 200, **({"cursor": cursor} if cursor else {})}
            page = self.get("/alerts", **params)
            page.raise_for_status()
            items += page.json()["items"]
            cursor = page.json()["next_cursor"]
            if not cursor:
                return items

    def reading_count(self, device_id: str) -> int:
        summary = self.get(f"/devices/{device_id}/readings/summary")
        summary.raise_for_status()
        return summary.json()["count"]


class CycleSender(threading.Thread):
    """Posts alert cycles round-robin over devices and records which cycles were accepted."""

    def __init__(self, client: Client, devices: list[str], cycles_per_device: int, pause_s: float = 0.05):
        super().__init__(daemon=True)
        self.client, self.devices, self.cycles, self.pause_s = client, devices, cycles_per_device, pause_s
        self.accepted: dict[str, list[int]] = {d: [] for d in devices}
        self.accepted_at: list[float] = []
        self.refused: list[int] = []

    def accepted_between(self, start: float, end: float) -> int:
        """How many batches were accepted in a monotonic-clock window."""
        return sum(start <= t <= end for t in self.accepted_at)

    def run(self) -> None:
        for i in range(self.cycles):
            for device in self.devices:
                body = {"readings": [{"value": -i}, {"value": -i - 0.5}, {"value": 20}]}
                try:
                    response = self.client.post(f"/devices/{device}/readings", body)
                    status = response.status_code
                except requests.RequestException:
                    status = 0
                if status == 202 and response.json() == {"accepted": 3}:
                    self.accepted[device].append(i)
                    self.accepted_at.append(time.monotonic())
                else:
                    self.refused.append(status)
                time.sleep(self.pause_s)


def _wait_for(check, timeout: float = CONVERGE_S):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is True or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def _assert_every_cycle_alerted_exactly_once(client: Client, sender: CycleSender) -> None:
    sent = sum(len(v) for v in sender.accepted.values())
    assert sent >= len(sender.devices) * 3, f"too little was accepted to prove anything: {sender.refused}"

    def converged():
        got = {d: client.alerts_of(d) for d in sender.devices}
        ok = all(len(got[d]) == len(sender.accepted[d]) and all(a["status"] == "resolved" for a in got[d])
                 for d in sender.devices)
        return True if ok else got

    result = _wait_for(converged)
    got = {d: client.alerts_of(d) for d in sender.devices}
    for device, cycles in sender.accepted.items():
        alerts = got[device]
        first_values = sorted(a["first_value"] for a in alerts)
        assert first_values == sorted(-i for i in cycles), (
            f"device {device}: sent cycles {cycles}, alerts opened for {first_values}")
        assert all(a["reading_count"] == 2 and a["status"] == "resolved" and a["kind"] == "low"
                   for a in alerts), alerts
    assert result is True


@pytest.fixture(scope="module")
def client(real_topology) -> Client:
    return Client(real_topology.base_url)


def test_alerts_crash_mid_stream_then_every_alert_opens_exactly_once(real_topology, client):
    devices = [client.new_device() for _ in range(3)]
    sender = CycleSender(client, devices, cycles_per_device=12)
    sender.start()
    time.sleep(1.0)
    real_topology.kill_process("alerts")
    down_at = time.monotonic()
    time.sleep(2.0)  # readings keep being accepted while nobody evaluates them
    real_topology.start_process("alerts")
    up_at = time.monotonic()
    sender.join(120)
    assert not sender.is_alive()
    print(f"accepted {sum(map(len, sender.accepted.values()))} batches "
          f"({sender.accepted_between(down_at, up_at)} while alerts was down), refused {sender.refused}")
    # Telemetry does not need alerts to accept readings, and some arrived while alerts was dead.
    assert sender.refused == []
    assert sender.accepted_between(down_at, up_at) > 0
    _assert_every_cycle_alerted_exactly_once(client, sender)


def test_nats_restart_during_ingest_loses_no_accepted_reading_or_alert(real_topology, client):
    devices = [client.new_device() for _ in range(3)]
    sender = CycleSender(client, devices, cycles_per_device=12)
    sender.start()
    time.sleep(1.0)
    real_topology.stop_process("nats")
    down_at = time.monotonic()
    time.sleep(1.5)
    real_topology.start_process("nats")
    up_at = time.monotonic()
    sender.join(120)
    assert not sender.is_alive()
    print(f"accepted {sum(map(len, sender.accepted.values()))} batches "
          f"({sender.accepted_between(down_at, up_at)} while NATS was down), refused {sender.refused}")
    for device, cycles in sender.accepted.items():
        assert client.reading_count(device) == 3 * len(cycles), f"device {device}"
    _assert_every_cycle_alerted_exactly_once(client, sender)


def test_devices_down_gives_503_problems_while_health_alerts_and_me_keep_working(real_topology, client):
    device = client.new_device()
    real_topology.stop_process("devices")
    try:
        for path in ("/devices", f"/devices/{device}"):
            response = client.get(path)
            assert response.status_code == 503, response.text
            assert response.headers["content-type"].startswith(PROBLEM)
            assert response.json()["type"] == "/problems/service-unavailable"
        assert requests.get(real_topology.base_url + "/health", timeout=5).status_code == 200
        for path in ("/alerts", "/me"):
            response = client.get(path)
            assert response.status_code == 200, f"{path}: {response.text}"
    finally:
        real_topology.start_process("devices")
    assert client.get(f"/devices/{device}").status_code == 200
