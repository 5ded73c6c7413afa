"""--scale telemetry=3: Envoy spreads requests over every replica; each accepted reading is stored once.

Run by compose_test.py after `docker compose up --scale telemetry=3`. Which replica served a
request is read from that container's own uvicorn access log (`docker logs <container id>`).
"""
from __future__ import annotations

import json
import os
import subprocess
import time

from contract_tests.support import Api, wait_until

COMPOSE = json.loads(os.environ.get("HOMESENSE_LIVE_COMPOSE", "[]"))
BASE_URL = os.environ.get("HOMESENSE_LIVE_BASE_URL", "")
REPLICAS = 3
REQUESTS = 60
# Envoy re-resolves STRICT_DNS clusters every 5 s; new replicas join within a few refreshes.
DISCOVERY_S = 60


def replicas() -> list[str]:
    out = subprocess.run([*COMPOSE, "ps", "-q", "telemetry"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return out.split()


def served_by(containers: list[str], device_id: str) -> dict[str, int]:
    """container id -> how many POSTs of this device's readings its access log shows."""
    needle = f'"POST /devices/{device_id}/readings'
    counts = {}
    for cid in containers:
        done = subprocess.run(["docker", "logs", cid], capture_output=True, text=True, check=True, timeout=60)
        counts[cid[:12]] = sum(needle in line for line in (done.stdout + done.stderr).splitlines())
    return counts


def test_gateway_spreads_readings_over_every_replica_and_stores_each_once():
    containers = replicas()
    assert len(containers) == REPLICAS, containers
    api = Api(BASE_URL)
    user = api.make_user("scale")
    device = api.create_device(user)
    sent: list[float] = []

    def post(n: int) -> None:
        for _ in range(n):
            values = [len(sent) + 0.25, len(sent) + 0.75]
            api.post_readings(user, device["id"], values)  # asserts 202 {"accepted": 2}
            sent.extend(values)

    # Warm up until Envoy has discovered every replica, then the measured batch.
    deadline = time.monotonic() + DISCOVERY_S
    while min(served_by(containers, device["id"]).values()) == 0:
        assert time.monotonic() < deadline, f"not every replica served: {served_by(containers, device['id'])}"
        post(6)
        time.sleep(1)
    before = served_by(containers, device["id"])
    post(REQUESTS)
    after = served_by(containers, device["id"])
    batch = {cid: after[cid] - before[cid] for cid in after}
    print(f"\nscale test: {REQUESTS} POSTs over {REPLICAS} telemetry replicas: {batch}; "
          f"all {sum(after.values())} POSTs: {after}")
    assert sum(after.values()) == len(sent) // 2, "a POST was logged by no replica or by two"
    assert all(n > 0 for n in batch.values()), batch

    def stored():
        got = api.readings(user, device["id"])
        return got if len(got) >= len(sent) else None

    got = wait_until(stored, message="every accepted reading listed")
    assert sorted(r["value"] for r in got) == sorted(sent), "a reading was lost or stored twice"
