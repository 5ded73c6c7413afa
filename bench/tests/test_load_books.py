"""The load check's books can fail: a short run against a real stage 1, once honest, then with a
reading the stage never got and a push the socket never saw (both must be reported)."""

import pytest

from bench import load
from contract_tests.launcher import start_stage


@pytest.fixture(scope="module")
def stage1():
    running = start_stage("1", label="-loadbooks")
    yield running
    running.stop()
    running.cleanup()


def _run(stage1, drain_s=10):
    return load.run_load(stage1.base_url, stage1.ws_url, clients=3, seconds=2, drain_s=drain_s, seed=11,
                         label="books", progress_every=1)


def test_an_honest_run_balances(stage1):
    result = _run(stage1)
    assert load.verdict(result) == [], result["first_failures"]
    assert result["readings_accepted"] == result["readings_stored"] > 0
    assert result["pushes_expected"] == result["opened_pushed"] + result["resolved_pushed"] > 0


def test_a_reading_counted_but_never_sent_is_reported(stage1, monkeypatch):
    real = load.Client.post_readings

    def phantom(self, device):
        real(self, device)
        device.sent[99.5] += 1  # as if a 202 had accepted a reading the stage does not have
        device.accepted += 1

    monkeypatch.setattr(load.Client, "post_readings", phantom)
    result = _run(stage1)
    assert any("missing" in f and "summary count" not in f for f in result["first_failures"]), result["first_failures"]
    assert any("summary count" in f for f in result["first_failures"])


def test_a_push_lost_on_the_way_is_reported(stage1, monkeypatch):
    real = load.Client._receive

    def deaf(self):
        # Drop every alert.opened frame before the receiver sees it.
        recv = self.ws.recv

        def filtered(timeout=None):
            while True:
                raw = recv(timeout=timeout)
                if '"alert.opened"' not in raw:
                    return raw

        self.ws.recv = filtered
        real(self)

    monkeypatch.setattr(load.Client, "_receive", deaf)
    result = _run(stage1, drain_s=3)
    assert any("alert.opened" in f and "never pushed" in f for f in result["first_failures"]), result["first_failures"]
