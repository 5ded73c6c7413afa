"""Telemetry use cases: accept batches (one outbox event each), page and summarise readings."""

from typing import Callable

from homesense_core.clock import utcnow
from homesense_core.cursor import READINGS, keyset_page
from homesense_core.http import Result
from homesense_core.idempotency import fingerprint, validate_key
from homesense_core.integration_events import (AcceptedReading, DeviceChanged, ReadingsAccepted,
                                               decode)
from homesense_core.model import Device, reading_to_json
from homesense_core.problems import not_found
from homesense_core.queries import parse_readings_query, parse_summary_query
from homesense_core.summary import summarize
from homesense_core.validation import parse_readings

from stage2_microservices.common.devices_client import DeviceDirectory
from stage2_microservices.common.uow import UnitOfWork
from stage2_microservices.common.web import current_request_id, request_id_of

DEVICES_CONSUMER = "telemetry-devices"


class TelemetryService:
    """Readings of devices the caller owns (ownership read through the devices service)."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], devices: DeviceDirectory,
                 on_commit: Callable[[], None] = lambda: None, clock=utcnow):
        self.uow, self.devices, self.on_commit, self.clock = uow_factory, devices, on_commit, clock

    async def owned_device(self, owner_id: str, device_id: str) -> Device:
        """The caller's device; NotFound for a missing or foreign one."""
        # Telemetry holds no devices: it asks the devices service on every request.
        device = await self.devices.owned(owner_id, device_id)
        if device is None:
            raise not_found("Device")
        return device

    async def accept_readings(self, owner_id: str, device_id: str, body: dict, path: str,
                              idempotency_key: str | None = None) -> Result:
        """202: the batch is durable before we answer; alerts follow asynchronously."""
        key = None if idempotency_key is None else validate_key(idempotency_key)
        now = self.clock()
        device = await self.owned_device(owner_id, device_id)
        batch = parse_readings(body, now)
        async with self.uow() as uow:
            if key is not None:
                fp = fingerprint("POST", path, body)
                prior = await uow.claim_idempotency(owner_id, key, fp, now)
                if prior is not None:
                    return prior
            # The transaction numbers the readings; the outbox row commits with them.
            stored = await uow.readings.add(device.id, [(r.value, r.recorded_at) for r in batch])
            readings = tuple(AcceptedReading(r.value, r.recorded_at, r.seq) for r in stored)
            # The device travels with the batch: alerts evaluates against the thresholds
            # that held when the readings were accepted, without calling back.
            event = ReadingsAccepted(device, now, readings, current_request_id())
            await uow.add_event(event)
            result = Result(202, {"accepted": len(readings)})
            if key is not None:
                await uow.save_idempotency(owner_id, key, fp, result, now)
            await uow.commit()
        self.on_commit()
        return result

    async def list_readings(self, owner_id: str, device_id: str, query: dict) -> dict:
        """Readings in [from, to), by (recorded_at, acceptance) asc or desc, keyset paged."""
        q = parse_readings_query(query)
        after = READINGS.position(q.cursor)
        await self.owned_device(owner_id, device_id)
        async with self.uow() as uow:
            rows = await uow.readings.page(device_id, q.from_, q.to, q.order == "desc", after, q.limit + 1)
        return keyset_page(rows, q.limit, reading_to_json, READINGS.of)

    async def readings_summary(self, owner_id: str, device_id: str, query: dict) -> dict:
        """count, min, max, mean and first/last recorded_at over [from, to)."""
        q = parse_summary_query(query)
        await self.owned_device(owner_id, device_id)
        async with self.uow() as uow:
            values = await uow.readings.values(device_id, q.from_, q.to)
        return summarize(values)

    async def on_device_event(self, event_type: str, payload: dict, msg_id: str) -> None:
        """device.deleted: drop the device's readings (once per message)."""
        event = decode(event_type, payload)
        if not isinstance(event, DeviceChanged) or event.change != "deleted":
            return
        with request_id_of(event.request_id):
            async with self.uow() as uow:
                if await uow.first_delivery(DEVICES_CONSUMER, msg_id):
                    await uow.readings.delete_device(event.device.id)
                    await uow.commit()
