"""Cutover under traffic: clients keep writing while a step cuts over, then every write is checked.

`run_cutover(start_step, verb, target)` starts a step with `--control`, opens WebSockets, starts
writers (a device creator and one reading poster per device, each at a steady rate, retrying a
refused write after its Retry-After until it is accepted), sends `cutover`/`rollback` on the
control channel, keeps the traffic going a little longer, stops it and checks:
- every write that got a 2xx is readable exactly once (devices listed once, readings in order);
- every alert the accepted readings should open was opened exactly once;
- an alert opened before the switch escalates on schedule after it and can be acked;
- a token issued before the switch still works after it.
It returns a report with what clients saw (statuses, refusals with Retry-After, latency).
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

from contract_tests.launcher import free_port
from contract_tests.support import Api, User, WsClient, describe, unique

REPO = Path(__file__).resolve().parents[2]
READY = "HOMESENSE_READY "
START_TIMEOUT_S = 300
LOW, INSIDE = -5.0, 5.0           # the device's low threshold is 0
WRITE_INTERVAL_S = 0.1            # each reading writer posts ten times a second
ESCALATE_AFTER_S = 6              # the pre-cutover alert's escalation setting
PUSH_AFTER_SWITCH_S = 30


@dataclass
class Seen:
    """What clients saw, counted by kind; latencies in ms."""

    statuses: Counter = field(default_factory=Counter)
    refused_with_retry_after: int = 0
    connection_errors: int = 0
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int | None, ms: float, retry_after: bool = False) -> None:
        with self.lock:
            if status is None:
                self.connection_errors += 1
            else:
                self.statuses[status] += 1
                self.latencies.append(ms)
                if status == 503 and retry_after:
                    self.refused_with_retry_after += 1

    def summary(self) -> dict:
        lat = sorted(self.latencies)
        pick = (lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 1)) if lat else (lambda q: None)
        return {"statuses": dict(sorted(self.statuses.items())), "refused_503_retry_after":
                self.refused_with_retry_after, "connection_errors": self.connection_errors,
                "latency_ms": {"p50": pick(0.5), "p99": pick(0.99), "max": lat[-1] if lat else None}}


class StepProcess:
    """A step started with --control; commands go to its stdin, protocol lines come from stdout."""

    def __init__(self, name: str):
        self.root = Path(tempfile.mkdtemp(prefix=f"homesense-cutover-{name}-"))
        self.stderr = open(self.root / "step.stderr.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "migration", "step", name, "--host", "127.0.0.1",
             "--port", str(free_port()), "--data-dir", str(self.root / "data"), "--control"],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
        self.lines: "queue.Queue[str]" = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        info = json.loads(self.expect(READY, START_TIMEOUT_S))
        self.base_url, self.ws_url = info["base_url"], info["ws_url"]

    def _pump(self) -> None:
        for raw in self.proc.stdout:
            self.lines.put(raw.decode(errors="replace").rstrip("\n"))
        self.lines.put("")

    def expect(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            if line.startswith(prefix):
                return line[len(prefix):]
            if line == "" and self.proc.poll() is not None:
                break
        raise AssertionError(f"no {prefix.strip()} line; stderr tail:\n{self.stderr_tail()}")

    def command(self, line: str, reply_prefix: str, timeout: float = 240) -> dict:
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        return json.loads(self.expect(reply_prefix, timeout))

    def stderr_tail(self) -> str:
        self.stderr.flush()
        return (self.root / "step.stderr.log").read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.stderr.close()


class Writers:
    """Background clients: one creates devices, one per device posts readings, all retry refusals."""

    def __init__(self, api: Api, user: User, devices: list[dict], seen: Seen):
        self.api, self.user, self.seen = api, user, seen
        self.stop = threading.Event()
        self.created: list[str] = []
        self.registered: list[tuple[str, str, str]] = []   # (id, username, password)
        self.accepted: dict[str, list[float]] = {d["id"]: [] for d in devices}
        self.threads = [threading.Thread(target=self._create_devices, daemon=True),
                        threading.Thread(target=self._register_users, daemon=True)]
        self.threads += [threading.Thread(target=self._post_readings, args=(d["id"],), daemon=True)
                         for d in devices]

    def _send(self, method: str, path: str, body: dict, ok: int, auth: bool = True) -> requests.Response:
        """Retry until ok: a 503 after its Retry-After, a connection error after 0.2 s."""
        while True:
            began = time.monotonic()
            try:
                r = self.api.request(method, path, user=self.user if auth else None, json=body, timeout=30)
            except requests.RequestException:
                self.seen.record(None, 0)
                time.sleep(0.2)
                continue
            self.seen.record(r.status_code, (time.monotonic() - began) * 1000, "Retry-After" in r.headers)
            if r.status_code == ok:
                return r
            assert r.status_code == 503 and "Retry-After" in r.headers, describe(r)
            time.sleep(float(r.headers["Retry-After"]))

    def _create_devices(self) -> None:
        while not self.stop.wait(0.3):
            r = self._send("POST", "/devices", {"name": unique("cut"), "kind": "power"}, 201)
            self.created.append(r.json()["id"])

    def _register_users(self) -> None:
        while not self.stop.wait(0.5):
            username, password = unique("cutu"), "pw-" + unique("p")
            r = self._send("POST", "/users", {"username": username, "password": password}, 201, auth=False)
            self.registered.append((r.json()["id"], username, password))

    def _post_readings(self, device_id: str) -> None:
        # Out of range every fifth reading: each such reading opens exactly one alert (the
        # inside reading before it resolved the previous one).
        n = 0
        while not self.stop.wait(WRITE_INTERVAL_S):
            value = LOW if n % 5 == 4 else INSIDE + n % 3
            self._send("POST", f"/devices/{device_id}/readings", {"readings": [{"value": value}]}, 202)
            self.accepted[device_id].append(value)
            n += 1

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)


def expected_alerts(values: list[float]) -> int:
    """Alerts the rule opens for these values in order (low threshold 0, no high threshold)."""
    opened, active = 0, False
    for v in values:
        if v < 0 and not active:
            opened, active = opened + 1, True
        elif v >= 0:
            active = False
    return opened


def run_cutover(start: str, verb: str, target: str, traffic_s: float = 4.0) -> dict:
    """One cutover (or rollback) under traffic; see run_moves."""
    return run_moves(start, [(verb, target)], traffic_s)


def run_moves(start: str, moves: list[tuple[str, str]], traffic_s: float = 4.0) -> dict:
    """Start `start`, keep clients busy, send each `verb target` in turn, check everything at the end."""
    step = StepProcess(start)
    try:
        api = Api(step.base_url)
        user = api.make_user("cut")
        seen = Seen()
        # An alert opened before the switch, to escalate after it.
        slow = api.create_device(user, low_threshold=0, escalation_after_seconds=ESCALATE_AFTER_S)
        api.post_readings(user, slow["id"], [LOW])
        pre_alert = _wait(lambda: [a for a in api.alerts(user, device_id=slow["id"])], "pre-cutover alert")[0]
        devices = [api.create_device(user, low_threshold=0, escalation_after_seconds=86400) for _ in range(2)]
        ws_before = WsClient(step.ws_url, user.token)
        writers = Writers(api, user, devices, seen)
        writers.start()
        time.sleep(traffic_s)
        switches, ws_url = [], step.ws_url
        for verb, target in moves:
            prefix = "HOMESENSE_CUTOVER " if verb == "cutover" else "HOMESENSE_ROLLBACK "
            report = step.command(f"{verb} {target}", prefix)
            assert report.get("ok"), f"{verb} {target} failed: {report}\n{step.stderr_tail()}"
            switches.append(report)
            ws_url = report.get("ws_url") or ws_url
            time.sleep(traffic_s)
        ws_after = WsClient(ws_url, user.token)
        time.sleep(1)
        writers.finish()
        checks = _check(api, user, writers, pre_alert, ws_after)
        ws_before.close()
        ws_after.close()
        return {"from": start, "moves": [f"{v} {t}" for v, t in moves], "switches": switches,
                "clients": seen.summary(),
                "writes": {"users_registered": len(writers.registered),
                           "devices_created": len(writers.created),
                           "readings_accepted": sum(map(len, writers.accepted.values()))}, **checks}
    finally:
        step.stop()


def _wait(fn, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} not seen within {timeout} s")


def _check(api: Api, user: User, writers: Writers, pre_alert: dict, ws_after: WsClient) -> dict:
    for user_id, username, password in writers.registered:
        # Every account registered before, during or after the switch logs in and is itself.
        token = api.token(username, password)
        me = api.get("/me", token=token)
        assert me.status_code == 200 and me.json()["id"] == user_id, describe(me)
    listed = [d["id"] for d in api.collect("/devices", user)]
    counts = Counter(listed)
    assert all(counts[i] == 1 for i in writers.created), "a created device is missing or listed twice"
    for device_id, values in writers.accepted.items():
        stored = [r["value"] for r in api.readings(user, device_id)]
        assert stored == values, f"device {device_id}: {len(values)} accepted, {len(stored)} stored"
        want = expected_alerts(values)
        got = _wait(lambda: (lambda a: a if len(a) >= want else None)(api.alerts(user, device_id=device_id)),
                    f"{want} alerts of {device_id}") if want else []
        assert len(got) == want, f"device {device_id}: {want} alerts expected, {len(got)} opened"
    # The pre-cutover alert escalates on schedule after the switch, then is acked.
    escalated = _wait(lambda: (lambda a: a if a["level"] >= 2 else None)(api.alert(user, pre_alert["id"])),
                      "escalation of the pre-cutover alert", timeout=ESCALATE_AFTER_S * 3 + 10)
    from contract_tests.support import parse_ts

    early = parse_ts(escalated["escalated_at"]) - parse_ts(escalated["opened_at"])
    assert early.total_seconds() >= ESCALATE_AFTER_S - 0.001, f"escalated early: {escalated}"
    r = api.post(f"/alerts/{pre_alert['id']}/ack", user=user)
    assert r.status_code == 200 and r.json()["status"] == "acknowledged", describe(r)
    # The token issued before the switch still works, and the new push owner pushes.
    assert api.get("/me", user=user).status_code == 200
    probe = api.create_device(user, low_threshold=0)
    sent = time.monotonic()
    api.post_readings(user, probe["id"], [LOW])
    # Generous bound: right after a move the new owner's event pipeline may still be working
    # through the copy's change records; the report carries the figure.
    ws_after.wait_for(lambda m: m.get("type") == "alert.opened" and m["alert"]["device_id"] == probe["id"],
                      timeout=PUSH_AFTER_SWITCH_S, message="push after the switch")
    push_ms = round((time.monotonic() - sent) * 1000)
    return {"alerts_checked": sum(expected_alerts(v) for v in writers.accepted.values()),
            "first_push_after_switch_ms": push_ms,
            "escalated_after_switch": {"level": escalated["level"], "after_s": round(early.total_seconds(), 3)}}
