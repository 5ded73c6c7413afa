"""Devices: create, list, read, patch, delete."""
from __future__ import annotations

from homesense_core.cursor import DEVICES, keyset_page
from homesense_core.escalation import escalation_due_at
from homesense_core.model import device_to_json
from homesense_core.integration_events import DeviceChanged, device_snapshot
from homesense_core.problems import not_found, owned
from homesense_core.queries import parse_page_query
from homesense_core.validation import apply_device_patch, new_device, parse_new_device

from stage1_monolith.services.common import (
    Clock, Idempotency, Result, UnitOfWorkFactory, remember, replay)

def _device_event(tx, change: str, device, now, events: bool) -> None:
    """Queue a device event for the migration relay (only while it runs; see adapters/nats_relay.py).

    The declared integration event, so stage 2's consumers read it as the devices service's own.
    """
    if events:
        event = DeviceChanged(change, device)
        tx.outbox.add(event.name, event.to_json(), now)


def create_device(uow: UnitOfWorkFactory, owner_id: str, body: dict, clock: Clock,
                  idem: Idempotency | None = None, events: bool = False) -> Result:
    """Register a device (201 + Location); a repeated Idempotency-Key replays the first answer."""
    now = clock()
    with uow(write=True) as tx:
        previous = replay(tx, owner_id, idem, now)
        if previous is not None:
            return previous
        device = new_device(parse_new_device(body), owner_id, now)
        tx.devices.add(device)
        _device_event(tx, "created", device, now, events)
        result = Result(201, device_to_json(device), f"/devices/{device.id}")
        remember(tx, owner_id, idem, result, now)
        tx.commit()
    return result


def list_devices(uow: UnitOfWorkFactory, owner_id: str, query) -> dict:
    """One page of the caller's devices, oldest first."""
    page = parse_page_query(query, default_limit=50, max_limit=200)
    after = DEVICES.position(page.cursor)
    with uow() as tx:
        rows = tx.devices.list_for_owner(owner_id, page.limit + 1, after)
    return keyset_page(rows, page.limit, device_to_json, DEVICES.of)


def internal_device(uow: UnitOfWorkFactory, device_id: str) -> dict:
    """Any owner's device with its owner_id: what stage 2's HttpDeviceDirectory reads."""
    with uow() as tx:
        device = tx.devices.get(device_id)
    if device is None:
        raise not_found("Device")
    return device_snapshot(device)


def get_device(uow: UnitOfWorkFactory, owner_id: str, device_id: str) -> dict:
    """One of the caller's devices."""
    with uow() as tx:
        return device_to_json(owned(tx.devices.get(device_id), owner_id, "Device"))


def patch_device(uow: UnitOfWorkFactory, owner_id: str, device_id: str, body: dict, clock: Clock,
                 events: bool = False) -> dict:
    """Merge-patch a device; open alerts follow a changed escalation period at once."""
    now = clock()
    with uow(write=True) as tx:
        device = owned(tx.devices.get(device_id), owner_id, "Device")
        changed = apply_device_patch(device, body, now)
        if changed is not device:
            tx.devices.update(changed)
            _device_event(tx, "updated", changed, now, events)
            if changed.escalation_after_seconds != device.escalation_after_seconds:
                _reschedule(tx, changed)
            tx.commit()
    return device_to_json(changed)


def _reschedule(tx, device) -> None:
    for row in tx.escalations.for_device(device.id):
        alert = tx.alerts.get(row.alert_id)
        due = alert and escalation_due_at(alert, device.escalation_after_seconds)
        if due is None:
            tx.escalations.cancel(row.alert_id)
        else:
            tx.escalations.schedule(alert.id, device.id, due)


def delete_device(uow: UnitOfWorkFactory, owner_id: str, device_id: str, clock: Clock | None = None,
                  events: bool = False) -> None:
    """Delete a device with its readings, alerts and pending escalations."""
    with uow(write=True) as tx:
        device = owned(tx.devices.get(device_id), owner_id, "Device")
        if events:
            _device_event(tx, "deleted", device, clock(), events)
        tx.escalations.delete_for_device(device_id)
        tx.alerts.delete_for_device(device_id)
        tx.readings.delete_for_device(device_id)
        tx.devices.delete(device_id)
        tx.commit()
