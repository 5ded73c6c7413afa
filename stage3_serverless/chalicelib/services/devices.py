"""Devices of the caller."""

from datetime import datetime

from ulid import ULID

from homesense_core.cursor import DEVICES, keyset_page
from homesense_core.ids import is_valid_id
from homesense_core.model import device_to_json
from homesense_core.problems import not_found
from homesense_core.queries import parse_page_query
from homesense_core.validation import apply_device_patch, new_device, parse_new_device

from ..container import Dependencies
from ..ports import StoredResponse


def time_ordered_id(now: datetime) -> str:
    """A ULID whose time part is `now`, so id order is (created_at, id) order in the table."""
    return str(ULID.from_datetime(now))


def create_device(deps: Dependencies, owner_id: str, body: dict) -> StoredResponse:
    """201 with the new device and its Location."""
    now = deps.clock()
    device = new_device(parse_new_device(body), owner_id, now, device_id=time_ordered_id(now))
    deps.devices.add(device)
    return StoredResponse(201, device_to_json(device), f"/devices/{device.id}")


def list_devices(deps: Dependencies, owner_id: str, query: dict) -> dict:
    """Oldest first, keyset paged by (created_at, id); the id alone orders, being time-ordered."""
    page = parse_page_query(query)
    after = DEVICES.position(page.cursor)
    rows = deps.devices.list(owner_id, page.limit + 1, after and after[1])
    return keyset_page(rows, page.limit, device_to_json, DEVICES.of)


def load(deps: Dependencies, owner_id: str, device_id: str):
    """The caller's device; NotFound for a missing or foreign one."""
    device = deps.devices.get(owner_id, device_id) if is_valid_id(device_id) else None
    if device is None:
        raise not_found("Device")
    return device


def get_device(deps: Dependencies, owner_id: str, device_id: str) -> dict:
    """One device."""
    return device_to_json(load(deps, owner_id, device_id))


def patch_device(deps: Dependencies, owner_id: str, device_id: str, body: dict) -> dict:
    """Merge the body into the device."""
    device = load(deps, owner_id, device_id)
    changed = apply_device_patch(device, body, deps.clock())
    if changed is not device:
        if not deps.devices.update(changed):
            raise not_found("Device")
        if changed.escalation_after_seconds != device.escalation_after_seconds:
            deps.alerts.set_escalation_after(device.id, changed.escalation_after_seconds)
    return device_to_json(changed)


def delete_device(deps: Dependencies, owner_id: str, device_id: str) -> None:
    """Remove the device and its alerts now; the stream handler purges its readings later."""
    if not deps.devices.delete(owner_id, device_id):
        raise not_found("Device")
    deps.alerts.delete_for_device(owner_id, device_id)
