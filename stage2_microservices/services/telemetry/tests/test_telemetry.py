"""Telemetry: API over fakes (device directory, store), the repository contract, device deletion."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from homesense_core.clock import format_ts, utcnow
from homesense_core.integration_events import DeviceChanged
from homesense_core.validation import new_device, parse_new_device

from stage2_microservices.common.devices_client import InMemoryDeviceDirectory
from stage2_microservices.testing.support import AUTH_SETTINGS, bearer, tokens_verifier, units_of_work
from stage2_microservices.services.telemetry.main import create_app
from stage2_microservices.services.telemetry.memory import InMemoryTelemetryUnitOfWork, memory_state
from stage2_microservices.services.telemetry.postgres import PostgresTelemetryUnitOfWork, schema_sql
from stage2_microservices.services.telemetry.service import TelemetryService
from stage2_microservices.services.telemetry.settings import TelemetrySettings

ALICE = bearer("alice01")
BOB = bearer("bob01")


def _device(owner="alice01"):
    return new_device(parse_new_device({"name": "t", "kind": "temperature", "low_threshold": 10}), owner, utcnow())


@pytest.fixture
def world():
    state, device = memory_state(), _device()
    directory = InMemoryDeviceDirectory(device)
    settings = TelemetrySettings(database_url="postgresql://unused/x", nats_url="nats://127.0.0.1:1",
                                 devices_url="http://127.0.0.1:1", **AUTH_SETTINGS)
    app = create_app(settings, uow_factory=lambda: InMemoryTelemetryUnitOfWork(state), devices=directory,
                     verifier=tokens_verifier())
    with TestClient(app) as client:
        yield client, state, device, directory


def test_batch_is_202_readable_at_once_and_one_ordered_event(world):
    client, state, device, _ = world
    r = client.post(f"/devices/{device.id}/readings", json={"readings": [{"value": 5}, {"value": 7.5}]},
                    headers=ALICE)
    assert r.status_code == 202 and r.json() == {"accepted": 2}
    items = client.get(f"/devices/{device.id}/readings", headers=ALICE).json()["items"]
    assert [i["value"] for i in items] == [5, 7.5]
    (event,) = state.outbox
    assert event.event_type == "reading.accepted"
    assert [x["value"] for x in event.payload["readings"]] == [5, 7.5]
    assert event.payload["device"]["low_threshold"] == 10 and event.payload["device"]["owner_id"] == "alice01"


def test_other_users_and_unknown_devices_are_404(world):
    client, state, device, _ = world
    body = {"readings": [{"value": 1}]}
    assert client.post(f"/devices/{device.id}/readings", json=body, headers=BOB).status_code == 404
    assert client.get(f"/devices/{device.id}/readings/summary", headers=BOB).status_code == 404
    assert client.get("/devices/nope/readings", headers=ALICE).status_code == 404
    assert state.outbox == []


def test_range_order_and_cursor_pagination(world):
    client, _, device, _ = world
    t0 = utcnow() - timedelta(minutes=10)
    readings = [{"value": i, "recorded_at": format_ts(t0 + timedelta(seconds=i // 2))} for i in range(6)]
    client.post(f"/devices/{device.id}/readings", json={"readings": readings}, headers=ALICE)
    seen, cursor = [], None
    while True:
        params = {"order": "desc", "limit": "4", **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/devices/{device.id}/readings", params=params, headers=ALICE).json()
        seen += [i["value"] for i in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == [5, 4, 3, 2, 1, 0]  # equal recorded_at: later accepted comes first in desc
    window = {"from": format_ts(t0 + timedelta(seconds=1)), "to": format_ts(t0 + timedelta(seconds=2))}
    got = client.get(f"/devices/{device.id}/readings", params=window, headers=ALICE).json()["items"]
    assert [i["value"] for i in got] == [2, 3]
    summary = client.get(f"/devices/{device.id}/readings/summary", params=window, headers=ALICE).json()
    assert summary["count"] == 2 and summary["mean"] == 2.5 and summary["min"] == 2


def test_empty_summary_is_nulls(world):
    client, _, device, _ = world
    s = client.get(f"/devices/{device.id}/readings/summary", headers=ALICE).json()
    assert s == {"count": 0, "min": None, "max": None, "mean": None,
                 "first_recorded_at": None, "last_recorded_at": None}


def test_idempotent_batch_is_stored_once(world):
    client, state, device, _ = world
    h = {**ALICE, "Idempotency-Key": "batch-1"}
    body = {"readings": [{"value": 1}]}
    first = client.post(f"/devices/{device.id}/readings", json=body, headers=h)
    again = client.post(f"/devices/{device.id}/readings", json=body, headers=h)
    assert first.json() == again.json() == {"accepted": 1}
    assert len(client.get(f"/devices/{device.id}/readings", headers=ALICE).json()["items"]) == 1
    other = client.post(f"/devices/{device.id}/readings", json={"readings": [{"value": 2}]}, headers=h)
    assert other.status_code == 422 and len(state.outbox) == 1


def test_invalid_readings_name_the_path_and_store_nothing(world):
    client, state, device, _ = world
    r = client.post(f"/devices/{device.id}/readings", json={"readings": [{"value": 1}, {"value": "x"}]},
                    headers=ALICE)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "readings/1/value"
    assert state.outbox == [] and state.tables["readings"]["rows"] == []


def test_query_errors_are_422_on_the_parameter(world):
    client, _, device, _ = world
    r = client.get(f"/devices/{device.id}/readings", params={"order": "up", "from": "yesterday"}, headers=ALICE)
    assert {e["field"] for e in r.json()["errors"]} == {"order", "from"}


@pytest.mark.anyio
async def test_device_deleted_event_drops_readings_once():
    state, device = memory_state(), _device()
    service = TelemetryService(lambda: InMemoryTelemetryUnitOfWork(state), InMemoryDeviceDirectory(device))
    await service.accept_readings("alice01", device.id, {"readings": [{"value": 1}]}, "/p")
    payload = DeviceChanged("deleted", device).to_json()
    await service.on_device_event("device.deleted", payload, "m1")
    assert state.tables["readings"]["rows"] == []
    await service.accept_readings("alice01", device.id, {"readings": [{"value": 2}]}, "/p")
    await service.on_device_event("device.deleted", payload, "m1")  # a redelivery changes nothing
    assert len(state.tables["readings"]["rows"]) == 1
    assert ("telemetry-devices", "m1") in state.tables["inbox"]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["memory", "postgres"])
async def test_reading_repository_contract(kind, request):
    async with units_of_work(kind, request, InMemoryTelemetryUnitOfWork, memory_state(),
                             PostgresTelemetryUnitOfWork, schema_sql()) as uow:
        t = utcnow()
        async with uow() as u:
            stored = await u.readings.add("d1", [(1.0, t), (2.0, t), (0.5, t - timedelta(seconds=1))])
            await u.readings.add("d2", [(9.0, t)])
            await u.commit()
        assert [r.seq for r in stored] == sorted(r.seq for r in stored)
        async with uow() as u:
            asc = await u.readings.page("d1", None, None, False, None, 10)
            assert [r.value for r in asc] == [0.5, 1.0, 2.0]
            desc = await u.readings.page("d1", None, None, True, (asc[2].recorded_at, asc[2].seq), 10)
            assert [r.value for r in desc] == [1.0, 0.5]
            assert sorted(v for v, _ in await u.readings.values("d1", t, None)) == [1.0, 2.0]
            await u.readings.delete_device("d1")
            await u.commit()
        async with uow() as u:
            assert await u.readings.page("d1", None, None, False, None, 10) == []
            assert len(await u.readings.page("d2", None, None, False, None, 10)) == 1
