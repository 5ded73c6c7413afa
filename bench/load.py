"""`python -m bench.load`: N clients for D seconds on each stage, mixed reads and writes, sockets open.

Each client is one user with two thermometers (alerts below 16 and above 28), one keep-alive HTTP
connection and one WebSocket, open before the clock starts and until the books are checked. In a
closed loop it picks, by weight: GET /devices, GET /devices/{id}, a page of readings, the readings
summary, a page of alerts (reads); POST a batch of 1-20 readings, a third of them crossing a
threshold, or PATCH a device's name (writes). Every POST carries an Idempotency-Key, so a request
that got no answer is retried with the same key until answered and the books stay exact.

After the load (and a bounded wait for pushes still in flight) each client checks its books:
- every reading accepted with 202 is stored exactly once: the device's readings, listed, are the
  multiset of values sent (each value is unique per device), and the summary's count agrees;
- every alert the batches must open exists once (GET /alerts), and its `alert.opened` and
  `alert.resolved` pushes arrived exactly once on its owner's socket (every batch ends inside the
  thresholds, so what a batch opens it also resolves, whatever order batches are evaluated in);
- each device's name is the last one a 200 PATCH set.

Failures: any 5xx, any request with no answer (time-out, connection error), any other status than
the one the request must get, and any broken book. 429 `rate-limited` with an integer Retry-After is
allowed by the contract on every route: counted, not a failure (a write waits it out and retries).
Pushes later than the contract's 5 s are counted and reported, not failed: delivery is checked here,
and that latency depends on what else the machine runs.

`make load-test` (in `make test`) runs every stage for a short time; `make bench` the full run,
written to docs/bench/load.{json,md,png}. Exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from websockets.sync.client import connect as ws_connect

PASSWORD = "correct horse battery"
LOW_THRESHOLD, HIGH_THRESHOLD = 16.0, 28.0
# Values are unique per device (a sequence number in the decimals), so a listing shows loss and
# duplication of single readings. Normal values stay inside, low/high ones outside the thresholds.
BASES = {"normal": 20.0, "low": 10.0, "high": 40.0}
STEP = 1e-6
PUSH_DEADLINE_S = 5.0  # the contract: pushed within 5 s of the change
# Op name -> weight. 60 % reads, 40 % writes.
WEIGHTS = {"list_devices": 10, "get_device": 10, "list_readings": 15, "summary": 10, "list_alerts": 15,
           "post_readings": 30, "patch_device": 10}
EXPECTED = {"post_readings": 202, "patch_device": 200}  # reads: 200


# --- pure rules: the batches and the pushes they must cause ---------------------------------------

def pushes_of_batch(values: list[float], low: float = LOW_THRESHOLD, high: float = HIGH_THRESHOLD) -> list[tuple[str, str]]:
    """The (push type, alert kind) a batch causes on a device with no active alert, in order.

    The contract's alert rules: below low opens `low`, above high opens `high` (a threshold value
    is inside), at most one active alert per kind, an inside reading resolves every active alert,
    an outside reading of one kind leaves the other kind's alert alone.
    """
    active: list[str] = []
    out: list[tuple[str, str]] = []
    for v in values:
        kind = "low" if v < low else "high" if v > high else None
        if kind is None:
            out += [("alert.resolved", k) for k in active]
            active = []
        elif kind not in active:
            active.append(kind)
            out.append(("alert.opened", kind))
    if active:
        raise ValueError("a load batch must end inside the thresholds")
    return out


def make_batch(rng: random.Random, next_seq) -> list[float]:
    """1-20 readings ending inside the thresholds; a third cross low, high or both on the way."""
    run = rng.choice([["low"], ["high"], ["low", "low"], ["low", "high"], ["high", "normal", "low"]]) \
        if rng.random() < 1 / 3 else []
    kinds = ["normal"] * rng.randint(0, 19 - len(run))
    at = rng.randint(0, len(kinds))
    kinds[at:at] = run
    kinds.append("normal")
    return [round(BASES[k] + next_seq() * STEP, 6) for k in kinds]


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted values (None when empty)."""
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(p / 100 * len(sorted_values)) - 1))]


# --- one client ------------------------------------------------------------------------------------

class NoAnswer(Exception):
    """The request got no HTTP answer (time-out, refused or reset connection)."""


class Http:
    """One keep-alive HTTP connection; answers (status, headers, JSON body)."""

    def __init__(self, base_url: str, timeout: float):
        parts = urlsplit(base_url)
        self.host, self.port, self.prefix = parts.hostname, parts.port or 80, parts.path.rstrip("/")
        self.timeout = timeout
        self.token: str | None = None
        self._conn: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body=None, headers: dict | None = None, fresh: bool = False):
        if fresh:
            self.close()
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self._conn.request(method, self.prefix + path, body=data, headers=hdrs)
            resp = self._conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise NoAnswer(f"{type(exc).__name__}: {exc}") from exc
        if resp.getheader("Connection", "").lower() == "close":
            self.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return resp.status, resp.headers, parsed

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass
class Device:
    id: str
    seq: int = 0
    sent: Counter = field(default_factory=Counter)  # value -> times accepted with 202
    accepted: int = 0
    expected: Counter = field(default_factory=Counter)  # push type -> count the batches must cause
    pending: list[tuple[float, float]] = field(default_factory=list)  # (monotonic, wall) 202 times of pushes not yet arrived
    early: int = 0  # pushes that arrived before their 202 was read (latency counted as 0)
    name: str = "Hall"


@dataclass
class Tally:
    """What all clients saw; one lock, since the clients are threads."""

    statuses: Counter = field(default_factory=Counter)  # (op, status or "no answer") -> n
    latencies: dict = field(default_factory=dict)  # op -> [ms]
    push_latencies: list = field(default_factory=list)
    push_split: list = field(default_factory=list)  # (202 -> alert changed, alert changed -> socket) ms
    failures: list = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, op: str, status, ms: float | None) -> None:
        with self.lock:
            self.statuses[(op, status)] += 1
            if ms is not None:
                self.latencies.setdefault(op, []).append(ms)

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)


class Client:
    """One user: two devices, one HTTP connection, one WebSocket, its own books."""

    def __init__(self, index: int, base_url: str, ws_url: str, tally: Tally, timeout: float, seed: int):
        self.index, self.ws_url, self.tally = index, ws_url, tally
        self.http = Http(base_url, timeout)
        self.rng = random.Random(seed)
        self.devices: list[Device] = []
        self.by_id: dict[str, Device] = {}
        self.pushes: list[tuple[str, str, str]] = []  # (type, alert id, device id) as received
        self.push_lock = threading.Condition()
        self.ws = None
        self._stop = threading.Event()
        self._receiver: threading.Thread | None = None

    # setup (not timed, not part of the load's statuses)
    def setup(self) -> None:
        name = f"load{self.index}x{uuid.uuid4().hex[:10]}"
        # A registration that timed out may have been stored: its retry's 409 means ours exists.
        self._must("POST", "/users", {"username": name, "password": PASSWORD}, 201, taken_ok=True)
        token = self._must("POST", "/auth/token", {"username": name, "password": PASSWORD}, 200)
        self.http.token = token["access_token"]
        for room in ("hall", "attic"):
            body = self._must("POST", "/devices", {
                "name": "Hall", "room": room, "kind": "temperature", "unit": "C",
                "low_threshold": LOW_THRESHOLD, "high_threshold": HIGH_THRESHOLD,
                "escalation_after_seconds": 86400}, 201, {"Idempotency-Key": uuid.uuid4().hex})
            device = Device(body["id"])
            self.devices.append(device)
            self.by_id[device.id] = device

    def _must(self, method: str, path: str, body, want: int, headers: dict | None = None,
              attempts: int = 5, taken_ok: bool = False):
        """A setup request, retried (with the same headers) until it gets `want`."""
        for attempt in range(attempts):
            try:
                status, hdrs, parsed = self.http.call(method, path, body, headers)
            except NoAnswer as exc:
                error = str(exc)
                print(f"   client {self.index}: setup {method} {path} got no answer, retrying ({exc})",
                      file=sys.stderr, flush=True)
            else:
                if status == want or (taken_ok and attempt > 0 and status == 409):
                    return parsed
                if status == 429:
                    time.sleep(_retry_after(hdrs) or 1)
                    continue
                error = f"HTTP {status} {parsed}"
            time.sleep(1 + attempt)
        raise RuntimeError(f"client {self.index}: setup {method} {path}: {error}")

    def open_socket(self) -> None:
        self.ws = ws_connect(f"{self.ws_url}?token={self.http.token}", open_timeout=60, max_size=2**22, legacy=True)
        self._receiver = threading.Thread(target=self._receive, name=f"ws-{self.index}", daemon=True)
        self._receiver.start()
        # The setup's keep-alive connection may idle out while the other sockets open: the load
        # starts on a fresh one, so a server's keep-alive timeout is never counted as a failure.
        self.http.close()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                raw = self.ws.recv(timeout=0.5)
            except TimeoutError:
                continue
            except Exception as exc:  # noqa: BLE001 - a socket closed under load is a failure, not a crash
                if not self._stop.is_set():
                    self.tally.fail(f"client {self.index}: WebSocket closed during the run: {exc!r}")
                return
            arrived, arrived_wall = time.monotonic(), time.time()
            try:
                message = json.loads(raw)
                kind, alert = message.get("type"), message.get("alert") or {}
            except (ValueError, AttributeError):
                self.tally.fail(f"client {self.index}: unreadable push {raw!r:.200}")
                continue
            if kind == "pong":
                continue
            device = self.by_id.get(alert.get("device_id"))
            with self.push_lock:
                self.pushes.append((kind, alert.get("id"), alert.get("device_id")))
                if device is None:
                    self.tally.fail(f"client {self.index}: push {kind} for a device not its own: {alert.get('device_id')}")
                elif device.pending:
                    accepted, accepted_wall = device.pending.pop(0)
                    changed = _wall(alert.get("resolved_at") if kind == "alert.resolved" else alert.get("opened_at"))
                    with self.tally.lock:
                        self.tally.push_latencies.append(max(0.0, (arrived - accepted) * 1000))
                        if changed is not None:
                            # Where the time went: 202 -> the alert changed (evaluation), then -> the socket.
                            self.tally.push_split.append(((changed - accepted_wall) * 1000,
                                                          (arrived_wall - changed) * 1000))
                elif kind in ("alert.opened", "alert.resolved"):
                    device.early += 1
                self.push_lock.notify_all()

    def close(self) -> None:
        self._stop.set()
        if self._receiver is not None:
            self._receiver.join(2)
        if self.ws is not None:
            self.ws.close()
        self.http.close()

    # the load
    def run(self, until: float) -> None:
        ops, weights = list(WEIGHTS), list(WEIGHTS.values())
        while time.monotonic() < until:
            op = self.rng.choices(ops, weights)[0]
            device = self.rng.choice(self.devices)
            try:
                getattr(self, op)(device)
            except Exception as exc:  # noqa: BLE001 - a bug in a request must not stop the others
                self.tally.fail(f"client {self.index}: {op}: {exc!r}")

    def _timed(self, op: str, method: str, path: str, body=None, headers=None, want: int = 200):
        """One request, recorded; (status, headers, body), or None when there was no answer."""
        t0 = time.perf_counter()
        try:
            status, hdrs, parsed = self.http.call(method, path, body, headers)
        except NoAnswer as exc:
            self.tally.record(op, "no answer", None)
            self.tally.fail(f"client {self.index}: {method} {path}: no answer ({exc})")
            return None
        self.tally.record(op, status, (time.perf_counter() - t0) * 1000)
        if status == 429:
            if _retry_after(hdrs) is None:
                self.tally.fail(f"client {self.index}: {method} {path}: 429 without an integer Retry-After")
            with self.tally.lock:
                self.tally.rate_limited += 1
        elif status != want:
            self.tally.fail(f"client {self.index}: {method} {path}: HTTP {status} (want {want}): {str(parsed)[:300]}")
        return status, hdrs, parsed

    def list_devices(self, device: Device) -> None:
        self._timed("list_devices", "GET", "/devices?limit=10")

    def get_device(self, device: Device) -> None:
        self._timed("get_device", "GET", f"/devices/{device.id}")

    def list_readings(self, device: Device) -> None:
        self._timed("list_readings", "GET", f"/devices/{device.id}/readings?limit=20&order=desc")

    def summary(self, device: Device) -> None:
        self._timed("summary", "GET", f"/devices/{device.id}/readings/summary")

    def list_alerts(self, device: Device) -> None:
        self._timed("list_alerts", "GET", "/alerts?limit=20")

    def patch_device(self, device: Device) -> None:
        name = f"Hall {self.rng.randrange(10**6)}"
        answer = self._timed("patch_device", "PATCH", f"/devices/{device.id}", {"name": name})
        if answer and answer[0] == 200:
            device.name = name
        # No answer: which name is stored is unknown, so the final name is not checked then.
        elif answer is None:
            device.name = None

    def post_readings(self, device: Device) -> None:
        def next_seq() -> int:
            device.seq += 1
            return device.seq
        values = make_batch(self.rng, next_seq)
        expected = pushes_of_batch(values)
        key = uuid.uuid4().hex
        # Retried with the same key until answered (at most ~2 min): the books must stay exact.
        for attempt in range(30):
            answer = self._timed("post_readings", "POST", f"/devices/{device.id}/readings",
                                 {"readings": [{"value": v} for v in values]}, {"Idempotency-Key": key}, want=202)
            if answer is None:
                time.sleep(min(4, 0.5 * (attempt + 1)))
                continue
            status, hdrs, parsed = answer
            if status == 429:
                time.sleep(_retry_after(hdrs) or 1)
                continue
            if status == 202:
                if (parsed or {}).get("accepted") != len(values):
                    self.tally.fail(f"client {self.index}: 202 accepted {parsed} for {len(values)} readings")
                accepted_at = (time.monotonic(), time.time())
                with self.push_lock:
                    device.sent.update(values)
                    device.accepted += len(values)
                    for push_type, _ in expected:
                        device.expected[push_type] += 1
                        if device.early:
                            device.early -= 1
                            with self.tally.lock:
                                self.tally.push_latencies.append(0.0)
                        else:
                            device.pending.append(accepted_at)
            return  # any other status was recorded as a failure; nothing was accepted
        self.tally.fail(f"client {self.index}: a batch was never answered after 30 attempts")

    # the books
    def expected_total(self) -> int:
        return sum(sum(d.expected.values()) for d in self.devices)

    def wait_for_pushes(self, deadline: float) -> None:
        with self.push_lock:
            self.push_lock.wait_for(lambda: len([p for p in self.pushes if p[0] in ("alert.opened", "alert.resolved")])
                                    >= self.expected_total(), timeout=max(0.0, deadline - time.monotonic()))

    def check_books(self) -> dict:
        """Compare what was accepted and pushed with what the stage stores; failures go to the tally."""
        self._stop.set()  # stop the receiver: what arrived by now is what counts
        if self._receiver is not None:
            self._receiver.join(2)
        fail = lambda msg: self.tally.fail(f"client {self.index}: {msg}")  # noqa: E731
        stored_readings = 0
        for device in self.devices:
            stored = Counter()
            path = f"/devices/{device.id}/readings?limit=1000"
            while path:
                body = self._read(path)
                stored.update(round(r["value"], 6) for r in body["items"])
                cursor = body["next_cursor"]
                path = f"/devices/{device.id}/readings?limit=1000&cursor={cursor}" if cursor else None
            stored_readings += sum(stored.values())
            if stored != device.sent:
                missing, extra = device.sent - stored, stored - device.sent
                fail(f"device {device.id}: {device.accepted} readings accepted, {sum(stored.values())} stored; "
                     f"missing {sum(missing.values())} (e.g. {list(missing)[:3]}), "
                     f"extra or duplicated {sum(extra.values())} (e.g. {list(extra)[:3]})")
            count = self._read(f"/devices/{device.id}/readings/summary")["count"]
            if count != device.accepted:
                fail(f"device {device.id}: summary count {count}, accepted {device.accepted}")
            if device.name is not None:
                name = self._read(f"/devices/{device.id}")["name"]
                if name != device.name:
                    fail(f"device {device.id}: name {name!r}, last PATCH answered 200 set {device.name!r}")
        alerts, path = [], "/alerts?limit=200"
        while path:
            body = self._read(path)
            alerts += body["items"]
            path = f"/alerts?limit=200&cursor={body['next_cursor']}" if body["next_cursor"] else None
        ids = Counter(a["id"] for a in alerts)
        opened = Counter(p[1] for p in self.pushes if p[0] == "alert.opened")
        resolved = Counter(p[1] for p in self.pushes if p[0] == "alert.resolved")
        others = Counter(p[0] for p in self.pushes if p[0] not in ("alert.opened", "alert.resolved"))
        want_open = sum(d.expected["alert.opened"] for d in self.devices)
        if len(alerts) != want_open or any(n > 1 for n in ids.values()):
            fail(f"{len(alerts)} alerts listed ({len(ids)} distinct), the accepted batches open {want_open}")
        not_resolved = [a["id"] for a in alerts if a["status"] != "resolved"]
        if not_resolved:
            fail(f"{len(not_resolved)} alerts not resolved although every batch ended inside: {not_resolved[:3]}")
        for label, pushed in (("alert.opened", opened), ("alert.resolved", resolved)):
            lost, unknown = set(ids) - set(pushed), set(pushed) - set(ids)
            twice = [i for i, n in pushed.items() if n > 1]
            if lost or unknown or twice:
                fail(f"{label}: {len(lost)} alerts never pushed (e.g. {sorted(lost)[:3]}), {len(unknown)} pushed "
                     f"ids not listed, {len(twice)} pushed more than once")
        if others:
            fail(f"unexpected pushes: {dict(others)}")
        return {"readings_accepted": sum(d.accepted for d in self.devices), "readings_stored": stored_readings,
                "alerts_expected": want_open, "alerts_listed": len(alerts),
                "pushes_expected": 2 * want_open, "opened_pushed": len(set(opened) & set(ids)),
                "resolved_pushed": len(set(resolved) & set(ids)),
                "pushes_received": sum(opened.values()) + sum(resolved.values())}

    def _read(self, path: str) -> dict:
        """A verification GET on a fresh connection (the load's one may have idled out), 429 waited out."""
        for attempt in range(10):
            try:
                status, headers, body = self.http.call("GET", path, fresh=attempt > 0)
            except NoAnswer:
                if attempt == 0:  # the load's connection idled out while the pushes drained
                    continue
                raise
            if status == 200:
                return body
            if status == 429:
                time.sleep(_retry_after(headers) or 1)
                continue
            raise RuntimeError(f"verification GET {path}: HTTP {status} {body}")
        raise RuntimeError(f"verification GET {path}: rate-limited 10 times")


def _wall(timestamp: str | None) -> float | None:
    """An RFC 3339 timestamp of the stage as epoch seconds (same machine, same clock)."""
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except (AttributeError, ValueError):
        return None


def _retry_after(headers) -> int | None:
    value = (headers.get("Retry-After") or "").strip()
    return int(value) if value.isdigit() else None


# --- one stage ---------------------------------------------------------------------------------------

def _parallel(fn, items, width: int) -> list:
    """fn over items, `width` at a time; exceptions are returned in place of results."""
    out: list = [None] * len(items)
    lock, position = threading.Lock(), [0]

    def worker() -> None:
        while True:
            with lock:
                i = position[0]
                position[0] += 1
            if i >= len(items):
                return
            try:
                out[i] = fn(items[i])
            except Exception as exc:  # noqa: BLE001 - reported by the caller
                out[i] = exc

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(width, len(items)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def run_load(base_url: str, ws_url: str, clients: int, seconds: float, drain_s: float = 60.0,
             timeout_s: float = 30.0, seed: int | None = None, label: str = "", progress_every: float = 5.0) -> dict:
    """Set up `clients` users and sockets, run them `seconds`, check the books; the result as a dict."""
    seed = random.randrange(2**31) if seed is None else seed
    tally = Tally()
    say = lambda msg: print(f"   [{label}] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    t0 = time.monotonic()
    pool = [Client(i, base_url, ws_url, tally, timeout_s, seed + i) for i in range(clients)]
    errors = [e for e in _parallel(lambda c: c.setup(), pool, 8) if e]
    if errors:
        raise RuntimeError(f"{len(errors)} of {clients} clients could not be set up: {errors[0]}")
    errors = [e for e in _parallel(lambda c: c.open_socket(), pool, 8) if e]
    if errors:
        raise RuntimeError(f"{len(errors)} of {clients} WebSockets did not open: {errors[0]!r}")
    say(f"{clients} users, {2 * clients} devices, {clients} sockets open in {time.monotonic() - t0:.1f} s "
        f"(seed {seed}); load for {seconds:.0f} s")
    start = time.monotonic()
    until = start + seconds
    threads = [threading.Thread(target=c.run, args=(until,), name=f"client-{c.index}", daemon=True) for c in pool]
    for t in threads:
        t.start()
    hard_stop = until + timeout_s * 3  # a request may still be in flight at `until`, and retried
    while any(t.is_alive() for t in threads):
        next_line = time.monotonic() + progress_every
        while time.monotonic() < next_line and any(t.is_alive() for t in threads):
            time.sleep(0.2)
        with tally.lock:
            done = sum(tally.statuses.values())
            by_status = Counter()
            for (_, status), n in tally.statuses.items():
                by_status[str(status)] += n
            failures = len(tally.failures)
        received = sum(len(c.pushes) for c in pool)
        expected = sum(c.expected_total() for c in pool)
        now = time.monotonic() - start
        say(f"{now:5.1f} s: {done} requests ({done / max(0.001, now):.0f}/s), statuses "
            f"{dict(sorted(by_status.items()))}, pushes {received}/{expected}, failures {failures}")
        if time.monotonic() > hard_stop:
            tally.fail("clients still running long after the end of the load")
            break
    elapsed = time.monotonic() - start
    drain_start = time.monotonic()
    for c in pool:
        c.wait_for_pushes(drain_start + drain_s)
    drained = time.monotonic() - drain_start
    say(f"load done after {elapsed:.1f} s; pushes in flight waited {drained:.1f} s; checking the books")
    books = Counter()
    for c, result in zip(pool, _parallel(lambda c: c.check_books(), pool, 4)):
        if isinstance(result, Exception):
            tally.fail(f"client {c.index}: checking the books: {result!r}")
        else:
            books.update(result)
    for c in pool:
        c.close()
    say(f"books checked in {time.monotonic() - drain_start - drained:.1f} s")
    return summarise(tally, books, clients, seconds, elapsed, drained, seed)


def summarise(tally: Tally, books: Counter, clients: int, seconds: float, elapsed: float, drained: float,
              seed: int) -> dict:
    statuses, per_op = Counter(), {}
    for (op, status), n in tally.statuses.items():
        statuses[str(status)] += n
        per_op.setdefault(op, Counter())[str(status)] += n
    all_ms = sorted(x for values in tally.latencies.values() for x in values)
    push_ms = sorted(tally.push_latencies)
    requests = sum(statuses.values())

    def r(v):
        return None if v is None else round(v, 1)

    return {
        "clients": clients, "seconds": seconds, "elapsed_s": round(elapsed, 1), "seed": seed,
        "requests": requests, "rps": round(requests / elapsed, 1) if elapsed else 0.0,
        "statuses": dict(sorted(statuses.items())),
        "five_xx": sum(n for s, n in statuses.items() if s.isdigit() and int(s) >= 500),
        "no_answer": statuses.get("no answer", 0), "rate_limited": tally.rate_limited,
        "p50_ms": r(percentile(all_ms, 50)), "p99_ms": r(percentile(all_ms, 99)), "max_ms": r(all_ms[-1] if all_ms else None),
        "ops": {op: {"requests": sum(c.values()), "statuses": dict(sorted(c.items())),
                     "p50_ms": r(percentile(sorted(tally.latencies.get(op, [])), 50)),
                     "p99_ms": r(percentile(sorted(tally.latencies.get(op, [])), 99))}
                for op, c in sorted(per_op.items())},
        **{k: books.get(k, 0) for k in ("readings_accepted", "readings_stored", "alerts_expected", "alerts_listed",
                                         "pushes_expected", "pushes_received", "opened_pushed", "resolved_pushed")},
        "push_p50_ms": r(percentile(push_ms, 50)), "push_p99_ms": r(percentile(push_ms, 99)),
        "push_max_ms": r(push_ms[-1] if push_ms else None),
        "pushes_later_than_5s": sum(1 for x in push_ms if x > PUSH_DEADLINE_S * 1000),
        "push_eval_p50_ms": r(percentile(sorted(a for a, _ in tally.push_split), 50)),
        "push_deliver_p50_ms": r(percentile(sorted(b for _, b in tally.push_split), 50)),
        "drain_s": round(drained, 1),
        "failures": len(tally.failures), "first_failures": tally.failures[:20],
    }


def run_stage(stage: str, clients: int, seconds: float, drain_s: float, seed: int | None) -> dict:
    """Start a stage (launcher protocol, free port, fresh data dir), load it, stop it."""
    from contract_tests.launcher import start_stage

    print(f">> stage {stage}: starting", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    running = start_stage(stage, label="-load")
    try:
        started = time.monotonic() - t0
        print(f">> stage {stage}: ready in {started:.1f} s at {running.base_url}", file=sys.stderr, flush=True)
        result = run_load(running.base_url, running.ws_url, clients, seconds, drain_s, seed=seed, label=f"stage {stage}")
        result["start_s"] = round(started, 1)
        return result
    finally:
        t1 = time.monotonic()
        running.stop()
        running.cleanup()
        print(f">> stage {stage}: stopped in {time.monotonic() - t1:.1f} s", file=sys.stderr, flush=True)


def verdict(result: dict) -> list[str]:
    """Why a stage's run fails; empty when it passes."""
    out = []
    if result.get("crashed"):
        out.append(result["crashed"])
        return out
    if result["five_xx"]:
        out.append(f"{result['five_xx']} responses were 5xx")
    if result["no_answer"]:
        out.append(f"{result['no_answer']} requests got no answer")
    if result["failures"]:
        out.append(f"{result['failures']} failures, first: {result['first_failures'][:5]}")
    if result["readings_accepted"] == 0 or result["alerts_expected"] == 0:
        out.append("nothing was written or no alert was due: the checks would be vacuous")
    return out


def markdown(results: dict) -> str:
    meta = results["meta"]
    stages = [s for s in ("1", "2", "3") if s in results["stages"]]
    cols = " | ".join(f"stage {s}" for s in stages)
    lines = [f"# Load check ({meta['date']})", "",
             f"{meta['clients']} clients per stage for {meta['seconds']:.0f} s each, closed loop, one user with "
             f"two devices, one keep-alive connection and one open WebSocket per client; {meta['cpus']} CPUs, "
             f"load average {meta['loadavg_before']:.1f} before, {meta['loadavg_after']:.1f} after "
             "(the machine is shared). Mix by weight: 60 % reads (devices, device, readings page, "
             "summary, alerts page), 30 % POST of 1-20 readings (a third crossing a threshold), 10 % PATCH. "
             "Produced by `python -m bench.load` (`make bench`).", "",
             f"| | {cols} |", "|---" * (len(stages) + 1) + "|"]

    def row(label, fn):
        cells = []
        for s in stages:
            r = results["stages"][s]
            cells.append("crashed" if r.get("crashed") else fn(r))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("requests (req/s)", lambda r: f"{r['requests']} ({r['rps']})")
    row("statuses", lambda r: ", ".join(f"{k}: {v}" for k, v in r["statuses"].items()))
    row("5xx / no answer / 429", lambda r: f"{r['five_xx']} / {r['no_answer']} / {r['rate_limited']}")
    row("latency p50 / p99 / max", lambda r: f"{r['p50_ms']} / {r['p99_ms']} / {r['max_ms']} ms")
    for op in WEIGHTS:
        row(f"  {op} p50 / p99", lambda r, op=op: (f"{r['ops'][op]['p50_ms']} / {r['ops'][op]['p99_ms']} ms"
                                                  if op in r["ops"] else "–"))
    row("readings accepted / stored once", lambda r: f"{r['readings_accepted']} / {r['readings_stored']}")
    row("alerts due / listed", lambda r: f"{r['alerts_expected']} / {r['alerts_listed']}")
    row("pushes expected / delivered", lambda r: f"{r['pushes_expected']} / {r['opened_pushed'] + r['resolved_pushed']}")
    row("push p50 / p99 / max", lambda r: f"{r['push_p50_ms']} / {r['push_p99_ms']} / {r['push_max_ms']} ms")
    row("pushes later than 5 s", lambda r: str(r["pushes_later_than_5s"]))
    row("push p50 split: 202 → alert changed / → socket", lambda r: (
        f"{r['push_eval_p50_ms']} / {r['push_deliver_p50_ms']} ms" if r.get("push_eval_p50_ms") is not None else "–"))
    row("failures", lambda r: str(r["failures"]))
    lines.append("")
    for s in stages:
        reasons = verdict(results["stages"][s])
        lines.append(f"- stage {s}: " + ("**pass**" if not reasons else "**FAIL**: " + "; ".join(reasons)))
        late = results["stages"][s].get("pushes_later_than_5s")
        if late:
            # Reported, not failed: the check is delivery; the 5 s bound depends on the machine's load.
            lines.append(f"  - {late} pushes arrived later than the contract's 5 s (reported, not a failure "
                         "of this check; see docs/bench/README.md)")
    return "\n".join(lines) + "\n"


def chart(results: dict, out: Path) -> None:
    """load.png: request and push latency p50/p99 per stage, throughput in the labels."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = [s for s in ("1", "2", "3") if not results["stages"].get(s, {"crashed": 1}).get("crashed")]
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (key, label) in enumerate((("", "HTTP request"), ("push_", "push (202 → WebSocket)"))):
        xs = [x + i * 0.4 for x in range(len(stages))]
        ax.bar(xs, [results["stages"][s][f"{key}p99_ms"] or 0 for s in stages], 0.38, alpha=0.35, color=f"C{i}")
        ax.bar(xs, [results["stages"][s][f"{key}p50_ms"] or 0 for s in stages], 0.38, color=f"C{i}",
               label=f"{label}: p50 (solid), p99 (light)")
    ax.axhline(PUSH_DEADLINE_S * 1000, color="grey", linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.set_xticks([x + 0.2 for x in range(len(stages))],
                  [f"stage {s}\n{results['stages'][s]['rps']} req/s, {results['stages'][s]['five_xx']} 5xx" for s in stages],
                  fontsize=8)
    ax.set_ylabel("ms (dotted: the contract's 5 s push bound)")
    ax.set_title(f"{results['meta']['clients']} clients, {results['meta']['seconds']:.0f} s per stage, mixed load")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "load.png", dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    parser.add_argument("--stages", default="1,2,3")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--drain-seconds", type=float, default=60.0,
                        help="longest wait for pushes still in flight after the load")
    parser.add_argument("--seed", type=int, default=None, help="reproduce a run's choices (printed at the start)")
    parser.add_argument("--out", default=None, help="write load.json, load.md and load.png here")
    parser.add_argument("--render", metavar="LOAD_JSON", help="only redraw load.md and load.png beside this file")
    args = parser.parse_args(argv)
    if args.render:
        path = Path(args.render)
        results = json.loads(path.read_text())
        (path.parent / "load.md").write_text(markdown(results))
        chart(results, path.parent)
        return 0
    results = {"meta": {"date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "clients": args.clients, "seconds": args.seconds, "cpus": os.cpu_count(),
                        "loadavg_before": os.getloadavg()[0]},
               "stages": {}}
    failed = []
    for stage in [s.strip() for s in args.stages.split(",") if s.strip()]:
        try:
            result = run_stage(stage, args.clients, args.seconds, args.drain_seconds, args.seed)
        except Exception as exc:  # noqa: BLE001 - recorded; the other stages still run
            result = {"crashed": f"{type(exc).__name__}: {exc}"}
        results["stages"][stage] = result
        reasons = verdict(result)
        if not result.get("crashed"):
            print(f">> stage {stage}: {result['requests']} requests ({result['rps']}/s), statuses {result['statuses']}, "
                  f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms; readings {result['readings_accepted']} "
                  f"accepted / {result['readings_stored']} stored; pushes {result['opened_pushed'] + result['resolved_pushed']}"
                  f"/{result['pushes_expected']} (p50 {result['push_p50_ms']} ms, p99 {result['push_p99_ms']} ms, "
                  f"{result['pushes_later_than_5s']} later than 5 s)", file=sys.stderr, flush=True)
        for reason in reasons:
            print(f"!! stage {stage}: {reason}", file=sys.stderr, flush=True)
            failed.append(stage)
    results["meta"]["loadavg_after"] = os.getloadavg()[0]
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "load.json").write_text(json.dumps(results, indent=2) + "\n")
        (out / "load.md").write_text(markdown(results))
        chart(results, out)
        print(f">> wrote {out / 'load.json'} and {out / 'load.md'}", file=sys.stderr)
    print(">> load check: " + ("FAILED on stage " + ", ".join(sorted(set(failed))) if failed else "passed"),
          file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
