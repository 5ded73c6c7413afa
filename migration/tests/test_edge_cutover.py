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
import signal
import subprocess
import sys
import threading
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
def running(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    s = StepProcess("1a", data)
    yield s
    assert s.stop() == 0


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
                                                  "owners_checked": 1, "mismatches": 0}
    assert isinstance(result["freeze_ms"], int) and result["freeze_ms"] >= 0
    # Key continuity: the monolith's token is accepted by the identity service that now owns /me.
    assert _me(base, before).json()["username"] == "before-cutover"
    after = _user(base, "after-cutover")  # lives only in the identity database so far
    prefix, result = running.command("rollback 1a")
    print("rollback", json.dumps(result))
    assert prefix == "HOMESENSE_ROLLBACK" and result["ok"] is True, result
    assert result["verification"]["identity"]["source_count"] == 2
    assert result["verification"]["identity"]["mismatches"] == 0
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
    cfg = render.GatewayConfig("127.0.0.1", 1, "127.0.0.1", 2,
                               {n: ("127.0.0.1", 3) for n in (*render.topology.SERVICE_NAMES, "monolith")})
    owners = {g: "monolith" for g in step("1a").owners}
    routes = render.routes_document(cfg, owners, frozenset({"identity"}))["resources"][0]
    table = routes["virtual_hosts"][0]["routes"]
    frozen = [r for r in table if r["name"] == "identity-frozen"]
    assert {r["match"]["path"] for r in frozen} == {"/users", "/auth/token", "/me", "/.well-known/jwks.json"}
    for r in frozen:
        assert r["direct_response"]["status"] == 503
        assert r["response_headers_to_add"][0]["header"] == {"key": "Retry-After", "value": "1"}
        # Each frozen route sits right before the route it shadows, for writes only.
        assert table[table.index(r) + 1]["match"]["path"] == r["match"]["path"]
    assert all(r.get("route", {}).get("cluster") == "monolith" for r in table if "route" in r)
