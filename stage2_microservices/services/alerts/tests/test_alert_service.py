"""Alerts use cases over in-memory fakes: rule application, escalation, visibility, acknowledgement."""

from dataclasses import replace
from datetime import timedelta

import pytest

from homesense_core.clock import format_ts, utcnow
from homesense_core.integration_events import device_snapshot
from homesense_core.problems import Conflict, NotFound, ServiceUnavailable
from homesense_core.validation import new_device, parse_new_device

from stage2_microservices.common.devices_client import InMemoryDeviceDirectory
from stage2_microservices.services.alerts.memory import InMemoryAlertsUnitOfWork, memory_state
from stage2_microservices.services.alerts.service import AlertService

pytestmark = pytest.mark.anyio


class Directory(InMemoryDeviceDirectory):
    """The devices read-through fake that counts calls and can be switched off."""

    def __init__(self, *devices):
        super().__init__(*devices)
        self.up, self.calls = True, 0

    async def get(self, device_id):
        self.calls += 1
        if not self.up:
            raise ServiceUnavailable("The devices service is unavailable.")
        return await super().get(device_id)


class Clock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now


@pytest.fixture
def world():
    clock, state = Clock(), memory_state()
    device = new_device(parse_new_device({"name": "t", "kind": "temperature", "low_threshold": 10,
                                          "high_threshold": 30, "escalation_after_seconds": 60}),
                        "alice01", clock())
    directory = Directory(device)
    service = AlertService(lambda: InMemoryAlertsUnitOfWork(state), directory, clock=clock)
    return service, state, device, directory, clock


_msg = iter(range(10**6))


async def _readings(service, device, *values):
    payload = {"device": device_snapshot(device), "accepted_at": format_ts(utcnow()),
               "readings": [{"value": v, "recorded_at": format_ts(utcnow()), "seq": i} for i, v in enumerate(values)]}
    await service.on_readings("reading.accepted", payload, f"m{next(_msg)}")
    return payload


def _events(state):
    return [(e.event_type, e.payload["alert"]["kind"]) for e in state.outbox]


async def test_batch_is_evaluated_in_array_order(world):
    service, state, device, *_ = world
    await _readings(service, device, 5, 4, 20, 35, 40)
    assert _events(state) == [("alert.opened", "low"), ("alert.resolved", "low"), ("alert.opened", "high")]
    items = (await service.list_alerts("alice01", {}))["items"]
    assert [(a["kind"], a["status"], a["reading_count"], a["last_value"]) for a in items] == [
        ("high", "open", 2, 40), ("low", "resolved", 2, 4)]


async def test_a_redelivered_event_changes_nothing(world):
    service, state, device, *_ = world
    payload = await _readings(service, device, 5)
    await service.on_readings("reading.accepted", payload, "same")
    await service.on_readings("reading.accepted", payload, "same")
    (alert,) = (await service.list_alerts("alice01", {}))["items"]
    assert alert["reading_count"] == 2  # first delivery + one for "same"; the repeat did nothing


async def test_escalates_each_period_up_to_level_3_then_stops(world):
    service, state, device, _, clock = world
    await _readings(service, device, 5)
    assert await service.escalate_due() == 0
    for expected in (2, 3, 3):
        clock.now += timedelta(seconds=60)
        await service.escalate_due()
        assert (await service.list_alerts("alice01", {}))["items"][0]["level"] == expected
    assert [t for t, _ in _events(state)].count("alert.escalated") == 2


async def test_acknowledge_stops_escalation_and_is_idempotent(world):
    service, state, device, _, clock = world
    await _readings(service, device, 5)
    alert_id = (await service.list_alerts("alice01", {}))["items"][0]["id"]
    acked = await service.acknowledge_alert("alice01", alert_id)
    assert acked["status"] == "acknowledged"
    assert await service.acknowledge_alert("alice01", alert_id) == acked
    clock.now += timedelta(seconds=600)
    assert await service.escalate_due() == 0
    assert [t for t, _ in _events(state)] == ["alert.opened", "alert.acknowledged"]


async def test_acknowledging_a_resolved_alert_is_409(world):
    service, _, device, *_ = world
    await _readings(service, device, 5, 20)
    alert_id = (await service.list_alerts("alice01", {}))["items"][0]["id"]
    with pytest.raises(Conflict):
        await service.acknowledge_alert("alice01", alert_id)


async def test_other_users_never_see_an_alert(world):
    service, _, device, *_ = world
    await _readings(service, device, 5)
    alert_id = (await service.list_alerts("alice01", {}))["items"][0]["id"]
    with pytest.raises(NotFound):
        await service.get_alert("bob01", alert_id)
    assert (await service.list_alerts("bob01", {}))["items"] == []


async def test_alerts_are_served_from_the_projection_while_devices_is_down(world):
    service, _, device, directory, _ = world
    await _readings(service, device, 5)
    directory.up = False
    (alert,) = (await service.list_alerts("alice01", {}))["items"]
    assert (await service.get_alert("alice01", alert["id"]))["id"] == alert["id"]
    assert (await service.acknowledge_alert("alice01", alert["id"]))["status"] == "acknowledged"
    assert directory.calls == 0  # the reading event projected the device; devices was never asked


async def test_device_deleted_event_hides_its_alerts_and_later_readings(world):
    service, state, device, directory, _ = world
    await _readings(service, device, 5)
    alert_id = (await service.list_alerts("alice01", {}))["items"][0]["id"]
    directory.remove(device.id)  # deleted in the devices service; the event decides visibility
    assert [a["id"] for a in (await service.list_alerts("alice01", {}))["items"]] == [alert_id]
    await service.on_device("device.deleted", {"device": device_snapshot(device)}, "del-1")
    assert (await service.list_alerts("alice01", {}))["items"] == []
    for call in (service.get_alert, service.acknowledge_alert):
        with pytest.raises(NotFound):
            await call("alice01", alert_id)
    assert state.tables["alerts"] == {}
    await _readings(service, device, 1)  # a late reading event of the deleted device
    assert state.tables["alerts"] == {}
    assert directory.calls == 0


async def test_a_tombstone_hides_an_alert_row_that_outlived_it(world):
    service, state, device, *_ = world
    await _readings(service, device, 5)
    alert_id = (await service.list_alerts("alice01", {}))["items"][0]["id"]
    state.tables["devices"][device.id] = replace(state.tables["devices"][device.id], deleted=True)
    assert (await service.list_alerts("alice01", {}))["items"] == []
    with pytest.raises(NotFound):
        await service.get_alert("alice01", alert_id)


@pytest.mark.parametrize("devices_says,shown", [("exists", True), ("gone", False), ("down", True)])
async def test_a_device_the_projection_never_saw_is_read_through(world, devices_says, shown):
    service, state, device, directory, _ = world
    await _readings(service, device, 5)
    alert_id = (await service.list_alerts("alice01", {}))["items"][0]["id"]
    del state.tables["devices"][device.id]
    directory.up = devices_says != "down"
    if devices_says == "gone":
        directory.remove(device.id)
    listed = [a["id"] for a in (await service.list_alerts("alice01", {}))["items"]]
    assert listed == ([alert_id] if shown else [])
    if shown:
        assert (await service.get_alert("alice01", alert_id))["id"] == alert_id
    else:
        with pytest.raises(NotFound):
            await service.get_alert("alice01", alert_id)
    assert directory.calls == 2


async def test_escalation_follows_the_devices_current_period(world):
    service, _, device, _, clock = world
    await _readings(service, device, 5)
    faster = replace(device, escalation_after_seconds=5, updated_at=clock.now + timedelta(milliseconds=1))
    await service.on_device("device.updated", {"device": device_snapshot(faster)}, "upd-1")
    clock.now += timedelta(seconds=5)
    assert await service.escalate_due() == 1


async def test_filters_and_pagination(world):
    service, _, device, *_ = world
    await _readings(service, device, 5, 20, 40, 20, 5)
    page1 = await service.list_alerts("alice01", {"limit": "2"})
    page2 = await service.list_alerts("alice01", {"limit": "2", "cursor": page1["next_cursor"]})
    assert len(page1["items"]) == 2 and len(page2["items"]) == 1 and page2["next_cursor"] is None
    opened = [a["opened_at"] for a in page1["items"] + page2["items"]]
    assert opened == sorted(opened, reverse=True)
    assert [a["status"] for a in (await service.list_alerts("alice01", {"status": "open"}))["items"]] == ["open"]
    assert (await service.list_alerts("alice01", {"device_id": "other"}))["items"] == []
