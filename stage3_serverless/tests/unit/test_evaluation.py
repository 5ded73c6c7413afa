"""Stream-side services on the in-memory fakes: lost races, deleted devices, push fan-out."""

import json
from dataclasses import replace

import pytest

from chalicelib import memory
from chalicelib.container import Dependencies
from chalicelib.ports import Connection
from chalicelib.services import evaluation
from chalicelib.settings import Settings
from chalicelib.streams import AlertChanged, ReadingsAccepted

from .test_ports import T0, a_device, an_alert


class RacingAlerts(memory.MemoryAlerts):
    """Acknowledges the alert behind the evaluator's back just before its first save."""

    raced = False

    def save(self, before, after):
        if not self.raced:
            self.raced = True
            current = self.items[before.id]
            self.items[before.id] = replace(current, status="acknowledged", acknowledged_at=T0)
        return super().save(before, after)


@pytest.fixture
def deps():
    settings = Settings("t", "/k", "arn:aws:states:us-east-1:1:stateMachine:m", "", ("*",))
    return Dependencies(settings=settings, users=memory.MemoryUsers(), devices=memory.MemoryDevices(),
                        readings=memory.MemoryReadings(), alerts=RacingAlerts(),
                        idempotency=memory.MemoryIdempotency(), connections=memory.MemoryConnections(),
                        poster=memory.RecordingPoster(), workflow=memory.RecordingWorkflow(),
                        keys=None, clock=lambda: T0)


def test_a_lost_race_is_re_read_and_the_reading_still_counts(deps):
    device = a_device()
    deps.devices.add(device)
    alert = an_alert(device)
    deps.alerts.open(alert, 300)
    evaluation.readings_accepted(deps, ReadingsAccepted(device.owner_id, device.id, [(4.0, T0, 2)]))
    stored = deps.alerts.get(alert.id)
    assert (stored.status, stored.reading_count, stored.last_value) == ("acknowledged", 2, 4.0)


def test_readings_of_a_deleted_device_open_nothing(deps):
    evaluation.readings_accepted(deps, ReadingsAccepted("owner1", "gone", [(1.0, T0, 1)]))
    assert deps.alerts.items == {}


def test_opened_alert_starts_escalation_with_the_device_period_and_is_pushed(deps):
    device = a_device()
    deps.connections.add(Connection("c1", device.owner_id, "https://x/api"), T0)
    alert = an_alert(device)
    evaluation.alert_changed(deps, AlertChanged(None, alert, 90))
    assert deps.workflow.started == {alert.id: 90}
    [(conn, data)] = deps.poster.sent
    assert conn == "c1" and json.loads(data)["type"] == "alert.opened"


def test_value_updates_are_not_pushed_and_resolution_stops_the_workflow(deps):
    device = a_device()
    deps.connections.add(Connection("c1", device.owner_id, "https://x/api"), T0)
    alert = an_alert(device)
    evaluation.alert_changed(deps, AlertChanged(alert, replace(alert, last_value=0.0, reading_count=2), 90))
    assert deps.poster.sent == [] and deps.workflow.stopped == []
    evaluation.alert_changed(deps, AlertChanged(alert, replace(alert, status="resolved", resolved_at=T0), 90))
    assert [json.loads(d)["type"] for _, d in deps.poster.sent] == ["alert.resolved"]
    assert deps.workflow.stopped == [alert.id]


def test_a_failing_connection_does_not_block_the_others(deps):
    class Flaky(memory.RecordingPoster):
        def post(self, connection, data):
            if connection.connection_id == "bad":
                raise OSError("network")
            super().post(connection, data)
    deps.poster = Flaky()
    for cid in ("bad", "good"):
        deps.connections.add(Connection(cid, "u1", "https://x/api"), T0)
    evaluation.push(deps, "u1", {"type": "alert.opened"})
    assert [c for c, _ in deps.poster.sent] == ["good"]


def test_a_poison_event_is_dropped_but_an_outage_fails_the_batch_for_a_retry(deps):
    from botocore.exceptions import EndpointConnectionError
    device = a_device()
    deps.devices.add(device)
    deps.connections.add(Connection("c1", device.owner_id, "https://x/api"), T0)
    alert = an_alert(device)
    poison = AlertChanged(None, alert, 90)  # starting its workflow fails on bad input
    deps.workflow.start = lambda *_: (_ for _ in ()).throw(ValueError("bad input"))
    evaluation.handle(deps, [poison, AlertChanged(alert, replace(alert, status="resolved"), 90)])
    assert [json.loads(d)["type"] for _, d in deps.poster.sent] == ["alert.resolved"]

    def down(*_):
        raise EndpointConnectionError(endpoint_url="https://dynamodb")
    deps.devices.get = down
    with pytest.raises(EndpointConnectionError):
        evaluation.handle(deps, [ReadingsAccepted(device.owner_id, device.id, [(1.0, T0, 1)])])


def test_a_batch_runs_devices_side_by_side_and_each_device_in_stream_order(deps, monkeypatch):
    import threading
    import time
    from botocore.exceptions import EndpointConnectionError

    devices = [a_device(name=f"d{i}") for i in range(3)]
    events = [ReadingsAccepted(d.owner_id, d.id, [(float(n), T0, n)]) for n in range(4) for d in devices]
    seen, threads = [], set()

    def record(_deps, event):
        threads.add(threading.get_ident())
        time.sleep(0.01)  # long enough that a serial run could not overlap devices
        seen.append((event.device_id, event.readings[0][2]))

    monkeypatch.setitem(evaluation.HANDLERS, ReadingsAccepted, record)
    evaluation.handle(deps, events)
    for d in devices:
        assert [n for device_id, n in seen if device_id == d.id] == [0, 1, 2, 3]
    assert len(threads) == 3

    def down_for_d0(_deps, event):
        if event.device_id == devices[0].id:
            raise EndpointConnectionError(endpoint_url="https://dynamodb")
        record(_deps, event)

    seen.clear()
    monkeypatch.setitem(evaluation.HANDLERS, ReadingsAccepted, down_for_d0)
    with pytest.raises(EndpointConnectionError):
        evaluation.handle(deps, events)
    # The other devices were still handled; the stream retries the whole batch (handlers are idempotent).
    assert sorted({device_id for device_id, _ in seen}) == sorted(d.id for d in devices[1:])
