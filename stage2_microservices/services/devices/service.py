"""Devices of the caller: create, list, get, patch, delete (each write also queues its device event)."""

from typing import Callable

from homesense_core.clock import utcnow
from homesense_core.cursor import DEVICES, keyset_page
from homesense_core.http import Result
from homesense_core.idempotency import fingerprint, validate_key
from homesense_core.integration_events import DeviceChanged, device_snapshot
from homesense_core.model import Device, device_to_json
from homesense_core.problems import not_found, owned
from homesense_core.queries import parse_page_query
from homesense_core.validation import apply_device_patch, new_device, parse_new_device

from stage2_microservices.common.uow import UnitOfWork
from stage2_microservices.common.web import current_request_id


async def owned_device(uow: UnitOfWork, owner_id: str, device_id: str) -> Device:
    """The caller's device; NotFound for a missing or foreign one."""
    return owned(await uow.devices.get(device_id), owner_id, "Device")


class DeviceService:
    """Create, read, update, delete devices of the calling owner."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], on_commit: Callable[[], None] = lambda: None,
                 clock=utcnow):
        self.uow, self.on_commit, self.clock = uow_factory, on_commit, clock

    async def create_device(self, owner_id: str, body: dict, path: str,
                            idempotency_key: str | None = None) -> Result:
        """201 with the new device and its Location."""
        key = None if idempotency_key is None else validate_key(idempotency_key)
        now = self.clock()
        spec = parse_new_device(body)
        async with self.uow() as uow:
            if key is not None:
                fp = fingerprint("POST", path, body)
                prior = await uow.claim_idempotency(owner_id, key, fp, now)
                if prior is not None:
                    return prior
            device = new_device(spec, owner_id, now)
            await uow.devices.add(device)
            await uow.add_event(DeviceChanged("created", device, current_request_id()))
            result = Result(201, device_to_json(device), f"/devices/{device.id}")
            if key is not None:
                await uow.save_idempotency(owner_id, key, fp, result, now)
            await uow.commit()
        self.on_commit()
        return result

    async def list_devices(self, owner_id: str, query: dict) -> dict:
        """One page of the caller's devices, oldest first, keyset paged by (created_at, id)."""
        page = parse_page_query(query)
        after = DEVICES.position(page.cursor)
        async with self.uow() as uow:
            rows = await uow.devices.page(owner_id, after, page.limit + 1)
        return keyset_page(rows, page.limit, device_to_json, DEVICES.of)

    async def get_device(self, owner_id: str, device_id: str) -> dict:
        """One of the caller's devices."""
        async with self.uow() as uow:
            return device_to_json(await owned_device(uow, owner_id, device_id))

    async def patch_device(self, owner_id: str, device_id: str, body: dict) -> dict:
        """Merge-patch a device; open alerts follow a changed escalation period from device.updated."""
        now = self.clock()
        async with self.uow() as uow:
            device = await owned_device(uow, owner_id, device_id)
            changed = apply_device_patch(device, body, now)
            if changed != device:
                await uow.devices.update(changed)
                await uow.add_event(DeviceChanged("updated", changed, current_request_id()))
                await uow.commit()
        if changed != device:
            self.on_commit()
        return device_to_json(changed)

    async def delete_device(self, owner_id: str, device_id: str) -> None:
        """Delete the device with its readings and alerts."""
        async with self.uow() as uow:
            device = await owned_device(uow, owner_id, device_id)
            # Telemetry and alerts drop the readings and alerts when they see device.deleted.
            await uow.devices.delete(device_id)
            await uow.add_event(DeviceChanged("deleted", device, current_request_id()))
            await uow.commit()
        self.on_commit()

    async def internal_get(self, device_id: str) -> dict:
        """Internal form (with owner_id) for other services."""
        async with self.uow() as uow:
            device = await uow.devices.get(device_id)
        if device is None:
            raise not_found("Device")
        return device_snapshot(device)
