"""Devices of the caller: create, list, get, patch, delete."""

from homesense_core.cursor import DEVICES, keyset_page
from homesense_core.escalation import escalation_due_at
from homesense_core.http import Result
from homesense_core.integration_events import DeviceChanged, device_snapshot
from homesense_core.model import Device, device_to_json
from homesense_core.problems import not_found, owned
from homesense_core.queries import parse_page_query
from homesense_core.validation import apply_device_patch, new_device, parse_new_device

# Stage 1 passes a unit-of-work factory: each use case is one SQLite transaction.
from .common import Clock, Idempotency, UnitOfWork, UnitOfWorkFactory, remember, replay


def _device_event(tx: UnitOfWork, change: str, device: Device, now, events: bool) -> None:
    """Queue a device event for the migration relay (only while it runs; see adapters/nats_relay.py).

    The declared integration event, so stage 2's consumers read it as the devices service's own.
    """
    if events:
        event = DeviceChanged(change, device)
        tx.outbox.add(event.name, event.to_json(), now)


def create_device(uow: UnitOfWorkFactory, owner_id: str, body: dict, clock: Clock,
                  idem: Idempotency | None = None, events: bool = False) -> Result:
    """201 with the new device and its Location."""
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


def list_devices(uow: UnitOfWorkFactory, owner_id: str, query: dict) -> dict:
    """One page of the caller's devices, oldest first, keyset paged by (created_at, id)."""
    page = parse_page_query(query)
    after = DEVICES.position(page.cursor)
    with uow() as tx:
        rows = tx.devices.list_for_owner(owner_id, page.limit + 1, after)
    return keyset_page(rows, page.limit, device_to_json, DEVICES.of)


def owned_device(tx: UnitOfWork, owner_id: str, device_id: str) -> Device:
    """The caller's device; NotFound for a missing or foreign one."""
    return owned(tx.devices.get(device_id), owner_id, "Device")


def get_device(uow: UnitOfWorkFactory, owner_id: str, device_id: str) -> dict:
    """One of the caller's devices."""
    with uow() as tx:
        return device_to_json(owned_device(tx, owner_id, device_id))


def patch_device(uow: UnitOfWorkFactory, owner_id: str, device_id: str, body: dict, clock: Clock,
                 events: bool = False) -> dict:
    """Merge-patch a device; open alerts follow a changed escalation period at once."""
    now = clock()
    with uow(write=True) as tx:
        device = owned_device(tx, owner_id, device_id)
        changed = apply_device_patch(device, body, now)
        if changed is not device:
            tx.devices.update(changed)
            _device_event(tx, "updated", changed, now, events)
            if changed.escalation_after_seconds != device.escalation_after_seconds:
                _reschedule(tx, changed)
            tx.commit()
    return device_to_json(changed)


def _reschedule(tx: UnitOfWork, device: Device) -> None:
    """Move the pending escalations of the device's open alerts to the new period."""
    for row in tx.escalations.for_device(device.id):
        alert = tx.alerts.get(row.alert_id)
        due = alert and escalation_due_at(alert, device.escalation_after_seconds)
        if due is None:
            tx.escalations.cancel(row.alert_id)
        else:
            tx.escalations.schedule(alert.id, device.id, due)


def delete_device(uow: UnitOfWorkFactory, owner_id: str, device_id: str, clock: Clock | None = None,
                  events: bool = False) -> None:
    """Delete the device with its readings and alerts."""
    with uow(write=True) as tx:
        device = owned_device(tx, owner_id, device_id)
        if events:
            _device_event(tx, "deleted", device, clock(), events)
        # One transaction takes everything recorded for the device, pending escalations too.
        tx.escalations.delete_for_device(device_id)
        tx.alerts.delete_for_device(device_id)
        tx.readings.delete_for_device(device_id)
        tx.devices.delete(device_id)
        tx.commit()


def internal_device(uow: UnitOfWorkFactory, device_id: str) -> dict:
    """Any owner's device with its owner_id: what stage 2's HttpDeviceDirectory reads."""
    with uow() as tx:
        device = tx.devices.get(device_id)
    if device is None:
        raise not_found("Device")
    return device_snapshot(device)
