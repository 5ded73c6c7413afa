"""Devices of the caller: create, list, get, patch, delete."""

from datetime import datetime

from ulid import ULID

from homesense_core.cursor import DEVICES, keyset_page
from homesense_core.http import Result
from homesense_core.ids import is_valid_id
from homesense_core.model import Device, device_to_json
from homesense_core.problems import not_found, owned
from homesense_core.queries import parse_page_query
from homesense_core.validation import apply_device_patch, new_device, parse_new_device

# Stage 3 passes its Dependencies: no transactions, so every write is conditional on what it read.
from ..container import Dependencies


def time_ordered_id(now: datetime) -> str:
    """A ULID whose time part is `now`, so id order is (created_at, id) order in the table."""
    return str(ULID.from_datetime(now))


def create_device(deps: Dependencies, owner_id: str, body: dict) -> Result:
    """201 with the new device and its Location."""
    now = deps.clock()
    device = new_device(parse_new_device(body), owner_id, now, device_id=time_ordered_id(now))
    deps.devices.add(device)
    return Result(201, device_to_json(device), f"/devices/{device.id}")


def list_devices(deps: Dependencies, owner_id: str, query: dict) -> dict:
    """One page of the caller's devices, oldest first, keyset paged by (created_at, id)."""
    page = parse_page_query(query)
    after = DEVICES.position(page.cursor)
    rows = deps.devices.list_for_owner(owner_id, page.limit + 1, after and after[1])  # the id alone orders
    return keyset_page(rows, page.limit, device_to_json, DEVICES.of)


def owned_device(deps: Dependencies, owner_id: str, device_id: str) -> Device:
    """The caller's device; NotFound for a missing or foreign one."""
    # The table keys devices by owner and ULID: no other id can name one.
    return owned(deps.devices.get(owner_id, device_id) if is_valid_id(device_id) else None, owner_id, "Device")


def get_device(deps: Dependencies, owner_id: str, device_id: str) -> dict:
    """One of the caller's devices."""
    return device_to_json(owned_device(deps, owner_id, device_id))


def patch_device(deps: Dependencies, owner_id: str, device_id: str, body: dict) -> dict:
    """Merge-patch a device; open alerts follow a changed escalation period at once."""
    now = deps.clock()
    device = owned_device(deps, owner_id, device_id)
    changed = apply_device_patch(device, body, now)
    if changed is not device:
        if not deps.devices.update(changed):  # conditional: the device still exists
            raise not_found("Device")
        if changed.escalation_after_seconds != device.escalation_after_seconds:
            deps.alerts.set_escalation_after(device.id, changed.escalation_after_seconds)
    return device_to_json(changed)


def delete_device(deps: Dependencies, owner_id: str, device_id: str) -> None:
    """Delete the device with its readings and alerts."""
    if not deps.devices.delete(owner_id, device_id):  # conditional: the caller's device exists
        raise not_found("Device")
    # Alerts go now; the stream handler purges the readings when it sees the deletion.
    deps.alerts.delete_for_device(owner_id, device_id)
