"""Outbox worker and escalation scheduler, driven by an injected clock over the in-memory fake."""
from __future__ import annotations

import pytest

from stage1_monolith.background import EscalationScheduler, OutboxWorker
from stage1_monolith.services import alerts, devices, readings
from stage1_monolith.services.processing import process_next_event
from stage1_monolith.tests.conftest import unique


@pytest.fixture
def world(memory_uow, clock, hub):
    """An owner with one temperature device (low 10, high 30, escalation after 60 s)."""
    owner = unique("owner")
    device = devices.create_device(memory_uow, owner, {"name": "Hall", "kind": "temperature", "low_threshold": 10,
                                                       "high_threshold": 30, "escalation_after_seconds": 60}, clock).body
    worker = OutboxWorker(memory_uow, clock, hub.publish)
    scheduler = EscalationScheduler(memory_uow, clock, hub.publish)
    return {"owner": owner, "device": device["id"], "worker": worker, "scheduler": scheduler}


def post(memory_uow, clock, world, *values):
    return readings.accept_readings(memory_uow, world["owner"], world["device"],
                                    {"readings": [{"value": v} for v in values]}, clock)


def all_alerts(memory_uow, world):
    return alerts.list_alerts(memory_uow, world["owner"], {})["items"]


def pushed_types(hub):
    return [message["type"] for _, message in hub.published]


def test_batch_is_evaluated_in_array_order(memory_uow, clock, hub, world):
    post(memory_uow, clock, world, 5, 4, 20, 3)
    assert world["worker"].run_once() == 1
    low_alerts = all_alerts(memory_uow, world)
    # Both alerts open at the same instant, so compare them without relying on list order.
    assert sorted((a["status"], a["reading_count"], a["first_value"]) for a in low_alerts) == [
        ("open", 1, 3.0), ("resolved", 2, 5.0)]
    assert pushed_types(hub) == ["alert.opened", "alert.resolved", "alert.opened"]
    assert all(owner == world["owner"] for owner, _ in hub.published)


def test_out_of_range_readings_update_one_active_alert_without_push(memory_uow, clock, hub, world):
    post(memory_uow, clock, world, 5)
    post(memory_uow, clock, world, 2)
    world["worker"].run_once()
    (alert,) = all_alerts(memory_uow, world)
    assert (alert["first_value"], alert["last_value"], alert["reading_count"]) == (5.0, 2.0, 2)
    assert pushed_types(hub) == ["alert.opened"]


def test_events_are_marked_done_exactly_once(memory_uow, clock, world):
    post(memory_uow, clock, world, 5)
    assert world["worker"].run_once() == 1
    assert world["worker"].run_once() == 0
    assert process_next_event(memory_uow, clock) == (False, [])


def test_event_of_a_deleted_device_is_skipped(memory_uow, clock, hub, world):
    post(memory_uow, clock, world, 5)
    devices.delete_device(memory_uow, world["owner"], world["device"])
    assert world["worker"].run_once() == 1
    assert hub.published == []


def test_poison_event_is_skipped_after_repeated_failures(memory_uow, clock, hub, world, monkeypatch):
    post(memory_uow, clock, world, 5)
    post(memory_uow, clock, world, 6)
    calls = {"n": 0}
    import stage1_monolith.services.processing as processing

    real = processing._apply_readings

    def flaky(tx, payload, now):
        calls["n"] += 1
        if calls["n"] <= 5:
            raise RuntimeError("boom")
        return real(tx, payload, now)

    monkeypatch.setattr(processing, "_apply_readings", flaky)
    for _ in range(5):
        world["worker"].run_once()
    assert world["worker"].run_once() == 1  # the second event still gets handled
    (alert,) = all_alerts(memory_uow, world)
    assert alert["first_value"] == 6.0


def test_open_alert_escalates_each_period_up_to_level_three(memory_uow, clock, hub, world):
    post(memory_uow, clock, world, 5)
    world["worker"].run_once()
    clock.advance(59)
    assert world["scheduler"].run_once() == 0
    clock.advance(1)
    assert world["scheduler"].run_once() == 1
    clock.advance(60)
    assert world["scheduler"].run_once() == 1
    clock.advance(600)
    assert world["scheduler"].run_once() == 0
    (alert,) = all_alerts(memory_uow, world)
    assert alert["level"] == 3
    assert pushed_types(hub) == ["alert.opened", "alert.escalated", "alert.escalated"]
    with memory_uow() as tx:
        assert tx.escalations.for_device(world["device"]) == []


def test_acknowledged_alert_stops_escalating(memory_uow, clock, hub, world):
    post(memory_uow, clock, world, 5)
    world["worker"].run_once()
    (alert,) = all_alerts(memory_uow, world)
    acked = alerts.acknowledge_alert(memory_uow, world["owner"], alert["id"], clock, hub.publish)
    assert acked["status"] == "acknowledged"
    again = alerts.acknowledge_alert(memory_uow, world["owner"], alert["id"], clock, hub.publish)
    assert again == acked
    clock.advance(3600)
    assert world["scheduler"].run_once() == 0
    assert pushed_types(hub) == ["alert.opened", "alert.acknowledged"]


def test_resolved_alert_stops_escalating(memory_uow, clock, hub, world):
    post(memory_uow, clock, world, 5)
    post(memory_uow, clock, world, 20)
    world["worker"].run_once()
    clock.advance(3600)
    assert world["scheduler"].run_once() == 0
    with memory_uow() as tx:
        assert tx.escalations.for_device(world["device"]) == []


def test_shorter_escalation_period_applies_to_open_alerts(memory_uow, clock, hub, world):
    post(memory_uow, clock, world, 5)
    world["worker"].run_once()
    devices.patch_device(memory_uow, world["owner"], world["device"], {"escalation_after_seconds": 5}, clock)
    clock.advance(5)
    assert world["scheduler"].run_once() == 1
    (alert,) = all_alerts(memory_uow, world)
    assert alert["level"] == 2


def test_the_worker_logs_the_event_under_the_request_id_of_the_post(memory_uow, clock, hub, world, caplog):
    readings.accept_readings(memory_uow, world["owner"], world["device"], {"readings": [{"value": 5}]}, clock,
                             request_id="req-follow-1")
    with caplog.at_level("INFO", logger="stage1_monolith.services.processing"):
        world["worker"].run_once()
    assert [(r.getMessage(), r.request_id) for r in caplog.records] == [
        ("reading.accepted: 1 readings, 1 pushes", "req-follow-1")]


def test_pending_events_are_handled_in_one_write_transaction(memory_uow, clock, hub, world):
    for value in (5, 20, 4, 20):
        post(memory_uow, clock, world, value)
    writes = []

    def counting_uow(write=False):
        writes.append(write)
        return memory_uow(write=write)

    worker = OutboxWorker(counting_uow, clock, hub.publish)
    assert worker.run_once() == 4
    # One transaction for the four events, one that finds the outbox empty.
    assert writes == [True, True]
    assert pushed_types(hub) == ["alert.opened", "alert.resolved", "alert.opened", "alert.resolved"]


def test_a_poison_event_inside_a_batch_costs_only_itself(memory_uow, clock, hub, world, monkeypatch):
    import stage1_monolith.services.processing as processing

    for value in (5, 20, 666, 4, 20):
        post(memory_uow, clock, world, value)
    real = processing._apply_readings

    def poison_666(tx, event, now):
        if event.readings[0].value == 666:
            raise RuntimeError("poison")
        return real(tx, event, now)

    monkeypatch.setattr(processing, "_apply_readings", poison_666)
    total = sum(world["worker"].run_once() for _ in range(12))
    assert total == 4  # every event but the poison one, each exactly once
    assert sorted((a["kind"], a["first_value"], a["status"]) for a in all_alerts(memory_uow, world)) == [
        ("low", 4.0, "resolved"), ("low", 5.0, "resolved")]
    with memory_uow() as tx:
        assert tx.outbox.pending_count() == 0


def test_a_threshold_changed_after_the_202_does_not_change_how_the_batch_is_judged(memory_uow, clock, hub, world):
    post(memory_uow, clock, world, 20)          # inside 10..30 when accepted
    devices.patch_device(memory_uow, world["owner"], world["device"], {"low_threshold": 25}, clock)
    assert world["worker"].run_once() == 1      # evaluated after the PATCH
    assert all_alerts(memory_uow, world) == []
    post(memory_uow, clock, world, 20)          # accepted under the new threshold: low
    world["worker"].run_once()
    assert [(a["kind"], a["threshold"]) for a in all_alerts(memory_uow, world)] == [("low", 25.0)]
