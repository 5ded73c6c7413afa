"""Sixteen clients against the local stage 3: no errors, no lost pushes (issue: the emulator collapsed).

Before the bounded worker pool (infra/ministack_main.py) and the pre-warm (local.prewarm), 16
clients made ministack start a Python worker per concurrent invocation: requests timed out and
pushes went missing. Each client here has its own user, device and open WebSocket and runs the
mixed profile of bench/push.py (a threshold-crossing POST, a GET by id, a page of readings) in a
closed loop; every crossing must arrive as exactly one push. Bounded: HOMESENSE_LOAD_SECONDS
(default 15) of load, then at most 30 s for the pushes in flight.
"""

from __future__ import annotations

import os

import pytest

from bench import push

CLIENTS = 16


@pytest.mark.slow
def test_sixteen_clients_get_no_errors_and_every_push(local_stage):
    seconds = float(os.environ.get("HOMESENSE_LOAD_SECONDS", "15"))
    result = push.run(local_stage.base_url, local_stage.ws_url, CLIENTS, seconds, drain_s=30)
    summary = (f"{result.requests} requests ({result.throughput:.1f}/s), pushes "
               f"{result.received_pushes}/{result.expected_pushes}, push p50 "
               f"{push.percentile(result.push_latencies_ms, 50)} ms, p99 "
               f"{push.percentile(result.push_latencies_ms, 99)} ms")
    print(summary)
    assert result.errors == [], f"{len(result.errors)} errors, first: {result.errors[:3]}; {summary}"
    # Each client crossed its threshold at least a few times, so "no lost push" is not vacuous.
    assert result.expected_pushes >= 2 * CLIENTS, summary
    assert result.lost_pushes == 0, summary
