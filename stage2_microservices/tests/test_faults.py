"""Fault tests on the real stage-2 topology: crashes (SIGKILL, by pid) lose nothing and duplicate nothing.

The client here behaves as the contract asks of one: a write refused with 503 + Retry-After, or
lost to a connection error, is sent again with the same Idempotency-Key until it is accepted. So
the final counts must equal exactly what the test meant to send, and every refusal must have been
one of those two kinds (anything else fails the test).

Every batch is one "cycle" for a device with low_threshold 10: [-i, -i - 0.5, 20] opens a low
alert with first_value -i, updates it, and resolves it. So a device must end with exactly one
resolved alert per cycle, each with reading_count 2, and 3 stored readings per cycle.
"""
from __future__ import annotations

import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
import requests

from stage2_microservices.local.postgres import url as pg_url

pytestmark = pytest.mark.slow

PROBLEM = "application/problem+json"
CONVERGE_S = 45
# One write may wait this long for a dependency to come back before the test gives up on it.
WRITE_DEADLINE_S = 60


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def is_retryable_refusal(response: requests.Response) -> bool:
    """503 problem+json with an integer Retry-After: the only refusal a fault may cause."""
    return (response.status_code == 503
            and response.headers.get("content-type", "").startswith(PROBLEM)
            and response.headers.get("retry-after", "").isdigit()
            and response.json().get("type") == "/problems/service-unavailable")


@dataclass
class Refusals:
    """Every refused attempt, by kind; `unexpected` must stay empty."""

    by_503: list[float] = field(default_factory=list)
    by_connection: list[float] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total(self) -> int:
        return len(self.by_503) + len(self.by_connection)

    def describe(self) -> str:
        return (f"{len(self.by_503)} refused with 503 + Retry-After, {len(self.by_connection)} by connection "
                f"errors, unexpected: {self.unexpected}")


class Client:
    """A signed-in user talking to the gateway; writes retried as the contract allows."""

    def __init__(self, base_url: str, refusals: Refusals | None = None):
        self.base_url = base_url
        self.refusals = refusals or Refusals()
        self.session = requests.Session()
        self.username = f"fault-{uuid.uuid4().hex[:12]}"
        self.password = "correct-horse-battery"
        self.post("/users", {"username": self.username, "password": self.password}).raise_for_status()
        token = self.post("/auth/token", {"username": self.username, "password": self.password}).json()
        self.session.headers["Authorization"] = f"Bearer {token['access_token']}"

    def post(self, path: str, body: dict | None, headers: dict | None = None) -> requests.Response:
        return self.session.post(self.base_url + path, json=body, headers=headers, timeout=10)

    def get(self, path: str, **params) -> requests.Response:
        return self.session.get(self.base_url + path, params=params, timeout=10)

    def write(self, path: str, body: dict | None, ok: tuple[int, ...], key: str | None = None,
              session: requests.Session | None = None) -> requests.Response:
        """POST until a status in ok; retries only 503 + Retry-After and connection errors."""
        session = session or self.session
        headers = {"Idempotency-Key": key} if key else {}
        deadline = time.monotonic() + WRITE_DEADLINE_S
        while time.monotonic() < deadline:
            try:
                response = session.post(self.base_url + path, json=body, headers=headers, timeout=10)
            except requests.RequestException:
                with self.refusals.lock:
                    self.refusals.by_connection.append(time.monotonic())
                time.sleep(0.2)
                continue
            if response.status_code in ok:
                return response
            if is_retryable_refusal(response):
                with self.refusals.lock:
                    self.refusals.by_503.append(time.monotonic())
                time.sleep(int(response.headers["retry-after"]))
                continue
            with self.refusals.lock:
                self.refusals.unexpected.append(f"POST {path} -> {response.status_code} {response.text[:200]}")
            return response
        with self.refusals.lock:
            self.refusals.unexpected.append(f"POST {path}: not accepted within {WRITE_DEADLINE_S} s")
        raise AssertionError(f"POST {path} not accepted within {WRITE_DEADLINE_S} s")

    def new_device(self, escalation_after_seconds: int = 86400, name: str = "freezer") -> str:
        body = {"name": name, "kind": "temperature", "unit": "C", "low_threshold": 10,
                "escalation_after_seconds": escalation_after_seconds}
        response = self.write("/devices", body, ok=(201,), key=uuid.uuid4().hex)
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
    """Posts alert cycles round-robin over devices, each retried (same Idempotency-Key) until accepted."""

    def __init__(self, client: Client, devices: list[str], cycles_per_device: int, pause_s: float = 0.05):
        super().__init__(daemon=True)
        self.client, self.devices, self.cycles, self.pause_s = client, devices, cycles_per_device, pause_s
        self.session = requests.Session()
        self.session.headers.update(client.session.headers)
        self.accepted: dict[str, list[int]] = {d: [] for d in devices}
        self.accepted_at: list[float] = []
        self.error: BaseException | None = None

    def accepted_between(self, start: float, end: float) -> int:
        """How many batches were accepted in a monotonic-clock window."""
        return sum(start <= t <= end for t in self.accepted_at)

    @property
    def sent(self) -> int:
        return sum(map(len, self.accepted.values()))

    def run(self) -> None:
        try:
            for i in range(self.cycles):
                for device in self.devices:
                    body = {"readings": [{"value": -i}, {"value": -i - 0.5}, {"value": 20}]}
                    response = self.client.write(f"/devices/{device}/readings", body, ok=(202,),
                                                 key=f"{device}-{i}", session=self.session)
                    if response.status_code == 202 and response.json() == {"accepted": 3}:
                        self.accepted[device].append(i)
                        self.accepted_at.append(time.monotonic())
                    time.sleep(self.pause_s)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            self.error = exc

    def finish(self) -> None:
        self.join(WRITE_DEADLINE_S * 3)
        assert not self.is_alive(), "the sender is still retrying"
        if self.error is not None:
            raise self.error


def _poll(find, timeout: float = 20):
    """The first truthy value of find(), or None after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = find()
        if value:
            return value
        time.sleep(0.2)
    return None


def _assert_killed(topology, name: str) -> None:
    """The process really died of SIGKILL (a graceful stop would exit 0 or by SIGTERM/SIGINT)."""
    process = topology.processes[name]
    assert not process.alive and process.process.returncode == -signal.SIGKILL, process.process.returncode


def _wait_for(check, timeout: float = CONVERGE_S):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is True or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def _assert_everything_sent_was_stored_and_alerted_exactly_once(client: Client, sender: CycleSender) -> None:
    # The client retried every refusal: what it meant to send is what was accepted, no more, no less.
    assert sender.accepted == {d: list(range(sender.cycles)) for d in sender.devices}
    assert client.refusals.unexpected == []
    for device in sender.devices:
        assert client.reading_count(device) == 3 * sender.cycles, f"device {device}"

    def converged():
        got = {d: client.alerts_of(d) for d in sender.devices}
        ok = all(len(got[d]) == sender.cycles and all(a["status"] == "resolved" for a in got[d])
                 for d in sender.devices)
        return True if ok else got

    result = _wait_for(converged)
    got = {d: client.alerts_of(d) for d in sender.devices}
    for device in sender.devices:
        alerts = got[device]
        first_values = sorted(a["first_value"] for a in alerts)
        assert first_values == sorted(-i for i in range(sender.cycles)), (
            f"device {device}: alerts opened for {first_values}")
        assert all(a["reading_count"] == 2 and a["status"] == "resolved" and a["kind"] == "low"
                   for a in alerts), alerts
    assert result is True


def _report(fault: str, sender: CycleSender, refusals: Refusals, down_at: float, up_at: float) -> None:
    print(f"\n[fault] {fault}: {sender.sent} batches accepted ({sender.accepted_between(down_at, up_at)} "
          f"while down, {up_at - down_at:.1f} s); {refusals.describe()}")


@pytest.fixture
def client(real_topology) -> Client:
    return Client(real_topology.base_url)


def test_alerts_sigkill_mid_stream_then_every_alert_opens_exactly_once(real_topology, client):
    devices = [client.new_device() for _ in range(3)]
    sender = CycleSender(client, devices, cycles_per_device=12)
    sender.start()
    time.sleep(1.0)
    real_topology.kill_process("alerts")
    down_at = time.monotonic()
    _assert_killed(real_topology, "alerts")
    time.sleep(2.0)  # readings keep being accepted while nobody evaluates them
    real_topology.start_process("alerts")
    up_at = time.monotonic()
    sender.finish()
    _report("alerts SIGKILL", sender, client.refusals, down_at, up_at)
    # Telemetry does not need alerts to accept readings, and some arrived while alerts was dead.
    assert client.refusals.total == 0, client.refusals.describe()
    assert sender.accepted_between(down_at, up_at) > 0
    _assert_everything_sent_was_stored_and_alerted_exactly_once(client, sender)


def test_nats_sigkill_during_ingest_loses_no_accepted_reading_or_alert(real_topology, client):
    devices = [client.new_device() for _ in range(3)]
    sender = CycleSender(client, devices, cycles_per_device=12)
    sender.start()
    time.sleep(1.0)
    real_topology.kill_process("nats")
    down_at = time.monotonic()
    _assert_killed(real_topology, "nats")
    time.sleep(1.5)
    real_topology.start_process("nats")
    up_at = time.monotonic()
    sender.finish()
    _report("NATS SIGKILL", sender, client.refusals, down_at, up_at)
    # The outbox is in each service's database: ingest never needs NATS, so nothing is refused.
    assert client.refusals.total == 0, client.refusals.describe()
    assert sender.accepted_between(down_at, up_at) > 0
    _assert_everything_sent_was_stored_and_alerted_exactly_once(client, sender)


def test_devices_sigkill_refuses_readings_with_503_retry_after_until_it_is_back(real_topology, client):
    devices = [client.new_device() for _ in range(2)]
    sender = CycleSender(client, devices, cycles_per_device=8)
    sender.start()
    time.sleep(0.8)
    real_topology.kill_process("devices")
    down_at = time.monotonic()
    _assert_killed(real_topology, "devices")
    try:
        # While devices is down: its own routes are Envoy's 503, others keep working.
        for path in ("/devices", f"/devices/{devices[0]}"):
            response = client.get(path)
            assert is_retryable_refusal(response), (response.status_code, response.headers, response.text)
        assert requests.get(real_topology.base_url + "/health", timeout=5).status_code == 200
        for path in ("/alerts", "/me"):
            response = client.get(path)
            assert response.status_code == 200, f"{path}: {response.text}"
        time.sleep(2.0)
    finally:
        real_topology.start_process("devices")
    up_at = time.monotonic()
    sender.finish()
    _report("devices SIGKILL", sender, client.refusals, down_at, up_at)
    # Telemetry checks ownership with the devices service on every batch and caches nothing, so
    # batches sent while it was down were refused (503 + Retry-After from telemetry, never a
    # connection error: Envoy and telemetry stayed up) and accepted once it was back.
    assert len(client.refusals.by_503) > 0 and client.refusals.by_connection == [], client.refusals.describe()
    assert sender.accepted_between(down_at + 0.5, up_at - 1.0) == 0
    _assert_everything_sent_was_stored_and_alerted_exactly_once(client, sender)


def test_postgres_sigkill_under_writes_to_every_database_then_every_service_recovers(real_topology, client):
    """One PostgreSQL server holds a database per service: its crash hits all four write paths."""
    refusals = client.refusals
    devices = [client.new_device() for _ in range(2)]
    # Alerts to acknowledge during the crash (alerts database): one open alert per device.
    ack_devices = [client.new_device(name="ack") for _ in range(4)]
    for device in ack_devices:
        client.write(f"/devices/{device}/readings", {"readings": [{"value": 1}]}, ok=(202,), key=f"{device}-open")
    open_alerts = _poll(lambda: (lambda found: found if len(found) == 4 else None)(
        [a for d in ack_devices for a in client.alerts_of(d)]))
    assert open_alerts and all(a["status"] == "open" for a in open_alerts), open_alerts

    sender = CycleSender(client, devices, cycles_per_device=10)
    usernames = [f"pgkill-{uuid.uuid4().hex[:10]}" for _ in range(4)]
    device_names = [f"made-during-crash-{n}" for n in range(4)]
    other = {"registered": [], "created": [], "acked": [], "error": None}

    def other_writes():
        """Identity, devices and alerts writes, interleaved, each retried until accepted."""
        try:
            session = requests.Session()
            session.headers.update(client.session.headers)
            for n in range(4):
                # A retried registration whose first attempt committed answers 409: it exists.
                r = client.write("/users", {"username": usernames[n], "password": "correct-horse-battery"},
                                 ok=(201, 409), session=requests.Session())
                other["registered"].append(r.status_code)
                r = client.write("/devices", {"name": device_names[n], "kind": "temperature"}, ok=(201,),
                                 key=f"create-{device_names[n]}-{client.username}", session=session)
                other["created"].append(r.json()["id"])
                r = client.write(f"/alerts/{open_alerts[n]['id']}/ack", None, ok=(200,), session=session)
                other["acked"].append(r.json()["status"])
                time.sleep(0.4)
        except BaseException as exc:  # noqa: BLE001 - reported below
            other["error"] = exc

    writer = threading.Thread(target=other_writes, daemon=True)
    sender.start()
    writer.start()
    time.sleep(1.0)
    real_topology.kill_process("postgres")
    down_at = time.monotonic()
    _assert_killed(real_topology, "postgres")
    time.sleep(2.0)
    real_topology.start_process("postgres")
    up_at = time.monotonic()
    sender.finish()
    writer.join(WRITE_DEADLINE_S * 3)
    assert not writer.is_alive() and other["error"] is None, other["error"]
    _report("PostgreSQL SIGKILL", sender, refusals, down_at, up_at)
    print(f"[fault] PostgreSQL SIGKILL: registrations {other['registered']}, "
          f"{len(other['created'])} devices created, acks {other['acked']}")

    # Writes were refused only as 503 + Retry-After or connection errors, and some were refused.
    assert refusals.unexpected == [] and refusals.total > 0, refusals.describe()
    # identity: every account exists exactly once and signs in.
    for name in usernames:
        r = client.session.post(client.base_url + "/auth/token", timeout=10,
                                json={"username": name, "password": "correct-horse-battery"})
        assert r.status_code == 200, r.text
    # devices: exactly the devices meant, once each (an Idempotency-Key made retries safe).
    listed = client.get("/devices", limit=100).json()["items"]
    crash_made = sorted(d["name"] for d in listed if d["name"].startswith("made-during-crash-"))
    assert crash_made == sorted(device_names), crash_made
    assert {d["id"] for d in listed} >= set(other["created"])
    # alerts: every acknowledgement stored.
    assert other["acked"] == ["acknowledged"] * 4
    assert all(client.get(f"/alerts/{a['id']}").json()["status"] == "acknowledged" for a in open_alerts)
    # telemetry (and alerts again, through the events): every batch stored and alerted exactly once.
    _assert_everything_sent_was_stored_and_alerted_exactly_once(client, sender)


def test_alerts_sigkill_between_opening_and_escalation_still_escalates_on_time(real_topology, client):
    setting = 1  # the contract's minimum escalation_after_seconds (homesense_core.validation)
    device = client.new_device(escalation_after_seconds=setting)
    client.write(f"/devices/{device}/readings", {"readings": [{"value": 1}]}, ok=(202,), key=f"{device}-1")
    alert = _poll(lambda: next(iter(client.alerts_of(device)), None))
    assert alert and alert["level"] == 1 and alert["escalated_at"] is None, alert
    real_topology.kill_process("alerts")
    killed_at = datetime.now(timezone.utc)
    _assert_killed(real_topology, "alerts")
    opened = parse_ts(alert["opened_at"])
    time.sleep(max(0.0, (opened.timestamp() + setting + 0.5) - time.time()))  # due while alerts is dead
    real_topology.start_process("alerts")
    restarted_at = datetime.now(timezone.utc)

    # The API shows the top level once the workflow ran...
    final = _poll(lambda: (lambda a: a if a["level"] == 3 else None)(client.get(f"/alerts/{alert['id']}").json()),
                  timeout=20)
    assert final and final["status"] == "open" and final["opened_at"] == alert["opened_at"], final
    # ...and the alerts database's outbox holds every escalation it committed, in order: exactly
    # one per level (none lost with the crash, none repeated after it), each one step up.
    with psycopg.connect(pg_url(real_topology.host, real_topology.ports["postgres"], "alerts")) as db:
        escalations = [row[0] for row in db.execute(
            "SELECT payload->'alert' FROM outbox WHERE event_type = 'alert.escalated'"
            " AND payload->'alert'->>'id' = %s ORDER BY position", [alert["id"]])]
    assert [e["level"] for e in escalations] == [2, 3], escalations
    at2, at3 = parse_ts(escalations[0]["escalated_at"]), parse_ts(escalations[1]["escalated_at"])
    assert final["escalated_at"] == escalations[1]["escalated_at"]
    delay2 = (at2 - opened).total_seconds()
    print(f"\n[fault] alerts SIGKILL before escalation: killed {(killed_at - opened).total_seconds():.2f} s "
          f"after opening, back after {(restarted_at - opened).total_seconds():.2f} s; level 2 at "
          f"+{delay2:.2f} s, level 3 {(at3 - at2).total_seconds():.2f} s later (setting {setting} s)")
    # Never early, and not later than the restart plus two scheduler polls and a margin for load.
    assert delay2 >= setting
    assert at2 <= restarted_at + timedelta(seconds=3.0), (at2, restarted_at)
    assert setting <= (at3 - at2).total_seconds() <= setting + 3.0
