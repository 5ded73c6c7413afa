"""Mixed read/write load with push accounting: N clients, each with its own user, device and socket.

Each client keeps one keep-alive HTTP connection and one open WebSocket. It loops for a fixed
time: POST one reading that crosses its device's threshold (alternately 14.0 below the low
threshold, opening an alert, and 20.0 back inside, resolving it), then GET the device and one page
of its readings. Every crossing must produce exactly one push (`alert.opened` /
`alert.resolved`); after the loop each client waits for the pushes still in flight. The result
counts HTTP errors (any non-2xx, time-out or connection error), pushes expected and received, and
the push latency from the 202 of the POST to the WebSocket message on the already-open socket.

Used by the stage 3 concurrency test (16 clients, zero errors, zero lost pushes) and by `make bench`.
This is a deliberate closed-loop client (each client waits for its answer), like wrk's connections.
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from websockets.sync.client import connect as ws_connect

PASSWORD = "correct horse battery"
LOW, NORMAL = 14.0, 20.0
PUSH_EVENTS = {"alert.opened", "alert.resolved"}


class Api:
    """One keep-alive HTTP connection to a stage's base URL."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        parts = urlsplit(base_url)
        self.host, self.port, self.prefix = parts.hostname, parts.port or 80, parts.path.rstrip("/")
        self.timeout = timeout
        self.token: str | None = None
        self._conn: http.client.HTTPConnection | None = None
        self._last_used = 0.0

    def call(self, method: str, path: str, body=None) -> tuple[int, dict | None]:
        """(status, JSON body); a broken connection is reopened once for the next call."""
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        # A keep-alive connection idle for a while may have been closed by the server (its
        # keep-alive timeout) before this request: retried once on a new connection, as HTTP
        # clients do. A connection in continuous use is never retried, so load errors still count.
        stale = self._conn is not None and time.monotonic() - self._last_used > 1.0
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self._conn.request(method, self.prefix + path, body=data, headers=headers)
                resp = self._conn.getresponse()
                raw = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if not stale or attempt == 2:
                    raise
            except (OSError, http.client.HTTPException):
                self.close()
                raise
        self._last_used = time.monotonic()
        if resp.getheader("Connection", "").lower() == "close":
            self.close()
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass
class ClientResult:
    """What one client saw."""

    requests: int = 0
    errors: list[str] = field(default_factory=list)
    expected_pushes: int = 0
    received_pushes: int = 0
    push_latencies_ms: list[float] = field(default_factory=list)


@dataclass
class LoadResult:
    """All clients together."""

    clients: int
    duration_s: float
    requests: int
    errors: list[str]
    expected_pushes: int
    received_pushes: int
    push_latencies_ms: list[float]

    @property
    def lost_pushes(self) -> int:
        return self.expected_pushes - self.received_pushes

    @property
    def throughput(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


def setup_client(base_url: str) -> tuple[Api, str]:
    """A fresh user with one thermometer (alerts below 16 °C); returns its API and device id."""
    api = Api(base_url)
    name = "load" + uuid.uuid4().hex[:12]
    status, _ = api.call("POST", "/users", {"username": name, "password": PASSWORD})
    if status != 201:
        raise RuntimeError(f"POST /users answered {status}")
    status, body = api.call("POST", "/auth/token", {"username": name, "password": PASSWORD})
    if status != 200:
        raise RuntimeError(f"POST /auth/token answered {status}")
    api.token = body["access_token"]
    status, body = api.call("POST", "/devices", {
        "name": "Hall", "room": "hall", "kind": "temperature", "unit": "C",
        "low_threshold": 16, "high_threshold": 28, "escalation_after_seconds": 3600})
    if status != 201:
        raise RuntimeError(f"POST /devices answered {status}")
    return api, body["id"]


def _client(api: Api, device: str, ws_url: str, until: list[float], drain_s: float,
            result: ClientResult, opened: threading.Barrier, reads: bool) -> None:
    try:
        ws = ws_connect(f"{ws_url}?token={api.token}", open_timeout=60)
    except Exception as exc:  # noqa: BLE001 - counted as an error; the others still run
        result.errors.append(f"WebSocket connect: {exc!r}")
        opened.wait()
        return
    with ws:
        _drive(api, device, ws, until, drain_s, result, opened, reads)
    api.close()


def _drive(api, device, ws, until, drain_s, result, opened, reads) -> None:
    pending: list[float] = []  # 202 times of crossings whose push has not arrived yet, in order
    arrived_event = threading.Condition()
    stop = threading.Event()

    def receive() -> None:
        while not stop.is_set():
            try:
                raw = ws.recv(timeout=0.5)
            except TimeoutError:
                continue
            except Exception:  # noqa: BLE001 - the socket closed; unreceived pushes count as lost
                return
            arrived = time.monotonic()
            try:
                kind = json.loads(raw).get("type")
            except ValueError:
                continue
            if kind in PUSH_EVENTS:
                with arrived_event:
                    result.received_pushes += 1
                    if pending:
                        result.push_latencies_ms.append(max(0.0, (arrived - pending.pop(0)) * 1000))
                    arrived_event.notify_all()

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    opened.wait()
    steps = [("POST", f"/devices/{device}/readings", None, 202)]
    if reads:
        steps += [("GET", f"/devices/{device}", None, 200),
                  ("GET", f"/devices/{device}/readings?limit=10&order=desc", None, 200)]
    low = True
    try:
        while time.monotonic() < until[0]:
            for method, path, _, want in steps:
                body = {"readings": [{"value": LOW if low else NORMAL}]} if method == "POST" else None
                result.requests += 1
                try:
                    status, _ = api.call(method, path, body)
                except (OSError, http.client.HTTPException) as exc:
                    result.errors.append(f"{method} {path}: {exc!r}")
                    continue
                if status != want:
                    result.errors.append(f"{method} {path}: HTTP {status}")
                elif method == "POST":
                    with arrived_event:
                        result.expected_pushes += 1
                        pending.append(time.monotonic())
                    low = not low
                    if not reads:
                        # Push profile: one crossing in flight, so the latency is not queueing
                        # behind this client's own earlier pushes.
                        with arrived_event:
                            arrived_event.wait_for(lambda: result.received_pushes >= result.expected_pushes,
                                                   timeout=drain_s)
        with arrived_event:
            arrived_event.wait_for(lambda: result.received_pushes >= result.expected_pushes, timeout=drain_s)
    finally:
        stop.set()
        receiver.join(2)


def run(base_url: str, ws_url: str, clients: int, duration_s: float, drain_s: float = 20.0,
        reads: bool = True) -> LoadResult:
    """Set up `clients` users (in parallel), then run them all for `duration_s` seconds.

    reads=True: the mixed profile (crossing POST, GET by id, a page of readings, closed loop).
    reads=False: the push profile (a crossing POST, then wait for its push, and again).
    """
    setups: list = [None] * clients

    def make(i: int) -> None:
        try:
            setups[i] = setup_client(base_url)
        except Exception as exc:  # noqa: BLE001 - reported below
            setups[i] = exc

    threads = [threading.Thread(target=make, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = [s for s in setups if isinstance(s, Exception)]
    if failed:
        raise RuntimeError(f"{len(failed)} of {clients} clients could not be set up: {failed[0]!r}")
    results = [ClientResult() for _ in range(clients)]
    until = [0.0]  # set when the barrier trips (every socket open), read by the clients after it
    opened = threading.Barrier(clients + 1, action=lambda: until.__setitem__(0, time.monotonic() + duration_s))
    workers = [threading.Thread(target=_client, args=(api, device, ws_url, until, drain_s, result, opened, reads),
                                daemon=True) for (api, device), result in zip(setups, results)]
    for t in workers:
        t.start()
    # The sockets open before the barrier; the clock starts when the last one is open.
    opened.wait(timeout=180)
    for t in workers:
        t.join(duration_s + drain_s + 60)
    return LoadResult(
        clients=clients, duration_s=duration_s,
        requests=sum(r.requests for r in results),
        errors=[e for r in results for e in r.errors],
        expected_pushes=sum(r.expected_pushes for r in results),
        received_pushes=sum(r.received_pushes for r in results),
        push_latencies_ms=sorted(x for r in results for x in r.push_latencies_ms),
    )


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted values (None when empty)."""
    if not values:
        return None
    index = min(len(values) - 1, max(0, math.ceil(p / 100 * len(values)) - 1))
    return values[index]
