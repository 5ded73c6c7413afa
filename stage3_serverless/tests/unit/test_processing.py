"""Stream-side services on the in-memory fakes: lost races, deleted devices, push fan-out."""

import json
from dataclasses import replace

import pytest

from chalicelib import memory
from chalicelib.container import Dependencies
from chalicelib.ports import Connection
from chalicelib.services import processing
from chalicelib.settings import Settings
from chalicelib.streams import AlertItemChanged
from homesense_core.integration_events import AcceptedReading, ReadingsAccepted

from .test_ports import T0, a_device, an_alert


def batch(device, *readings):
    return ReadingsAccepted(device, T0, tuple(AcceptedReading(v, T0, seq) for v, seq in readings))


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
    processing.readings_accepted(deps, batch(device, (4.0, 2)))
    stored = deps.alerts.get(alert.id)
    assert (stored.status, stored.reading_count, stored.last_value) == ("acknowledged", 2, 4.0)


def test_readings_of_a_deleted_device_open_nothing(deps):
    processing.readings_accepted(deps, batch(replace(a_device(), id="gone"), (1.0, 1)))
    assert deps.alerts.items == {}


def test_opened_alert_starts_escalation_with_the_device_period_and_is_pushed(deps):
    device = a_device()
    deps.connections.add(Connection("c1", device.owner_id, "https://x/api"), T0)
    alert = an_alert(device)
    processing.alert_changed(deps, AlertItemChanged(None, alert, 90))
    assert deps.workflow.started == {alert.id: 90}
    [(conn, data)] = deps.poster.sent
    assert conn == "c1" and json.loads(data)["type"] == "alert.opened"


def test_value_updates_are_not_pushed_and_resolution_stops_the_workflow(deps):
    device = a_device()
    deps.connections.add(Connection("c1", device.owner_id, "https://x/api"), T0)
    alert = an_alert(device)
    processing.alert_changed(deps, AlertItemChanged(alert, replace(alert, last_value=0.0, reading_count=2), 90))
    assert deps.poster.sent == [] and deps.workflow.stopped == []
    processing.alert_changed(deps, AlertItemChanged(alert, replace(alert, status="resolved", resolved_at=T0), 90))
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
    processing.push(deps, "u1", {"type": "alert.opened"})
    assert [c for c, _ in deps.poster.sent] == ["good"]


def test_a_poison_event_is_dropped_but_an_outage_fails_the_batch_for_a_retry(deps):
    from botocore.exceptions import EndpointConnectionError
    device = a_device()
    deps.devices.add(device)
    deps.connections.add(Connection("c1", device.owner_id, "https://x/api"), T0)
    alert = an_alert(device)
    poison = AlertItemChanged(None, alert, 90)  # starting its workflow fails on bad input
    deps.workflow.start = lambda *_: (_ for _ in ()).throw(ValueError("bad input"))
    processing.handle(deps, [poison, AlertItemChanged(alert, replace(alert, status="resolved"), 90)])
    assert [json.loads(d)["type"] for _, d in deps.poster.sent] == ["alert.resolved"]

    def down(*_):
        raise EndpointConnectionError(endpoint_url="https://dynamodb")
    deps.devices.get = down
    with pytest.raises(EndpointConnectionError):
        processing.handle(deps, [batch(device, (1.0, 1))])


def test_a_batch_runs_devices_side_by_side_and_each_device_in_stream_order(deps, monkeypatch):
    import threading
    import time
    from botocore.exceptions import EndpointConnectionError

    devices = [a_device(name=f"d{i}") for i in range(3)]
    events = [batch(d, (float(n), n)) for n in range(4) for d in devices]
    seen, threads = [], set()

    def record(_deps, event):
        threads.add(threading.get_ident())
        time.sleep(0.01)  # long enough that a serial run could not overlap devices
        seen.append((event.device.id, event.readings[0].seq))

    monkeypatch.setitem(processing.HANDLERS, ReadingsAccepted, record)
    processing.handle(deps, events)
    for d in devices:
        assert [n for device_id, n in seen if device_id == d.id] == [0, 1, 2, 3]
    assert len(threads) == 3

    def down_for_d0(_deps, event):
        if event.device.id == devices[0].id:
            raise EndpointConnectionError(endpoint_url="https://dynamodb")
        record(_deps, event)

    seen.clear()
    monkeypatch.setitem(processing.HANDLERS, ReadingsAccepted, down_for_d0)
    with pytest.raises(EndpointConnectionError):
        processing.handle(deps, events)
    # The other devices were still handled; the stream retries the whole batch (handlers are idempotent).
    assert sorted({device_id for device_id, _ in seen}) == sorted(d.id for d in devices[1:])
