"""Readings: accept a batch (plus its outbox event), page through them, summarise."""
from __future__ import annotations

from typing import Callable

from homesense_core.cursor import READINGS, keyset_page
from homesense_core.integration_events import AcceptedReading, ReadingsAccepted
from homesense_core.model import reading_to_json
from homesense_core.problems import owned
from homesense_core.queries import parse_readings_query, parse_summary_query
from homesense_core.summary import summarize
from homesense_core.validation import parse_readings

from stage1_monolith.services.common import (
    Clock, Idempotency, Result, UnitOfWorkFactory, remember, replay)


def accept_readings(uow: UnitOfWorkFactory, owner_id: str, device_id: str, body: dict, clock: Clock,
                    idem: Idempotency | None = None, wake_worker: Callable[[], None] = lambda: None,
                    request_id: str | None = None) -> Result:
    """Store a batch and its reading.accepted event in one transaction, then 202."""
    now = clock()
    with uow(write=True) as tx:
        device = owned(tx.devices.get(device_id), owner_id, "Device")
        previous = replay(tx, owner_id, idem, now)
        if previous is not None:
            return previous
        batch = parse_readings(body, now)
        stored = tx.readings.add_many(device_id, [(r.value, r.recorded_at) for r in batch])
        # The event carries the readings in array order: that is the evaluation order.
        event = ReadingsAccepted(device, now, tuple(AcceptedReading(r.value, r.recorded_at, r.seq) for r in stored),
                                 request_id)
        tx.outbox.add(event.name, event.to_json(), now)
        result = Result(202, {"accepted": len(stored)})
        remember(tx, owner_id, idem, result, now)
        tx.commit()
    wake_worker()
    return result


def list_readings(uow: UnitOfWorkFactory, owner_id: str, device_id: str, query) -> dict:
    """One page of a device's readings by (recorded_at, acceptance order)."""
    q = parse_readings_query(query)
    after = READINGS.position(q.cursor)
    descending = q.order == "desc"
    with uow() as tx:
        owned(tx.devices.get(device_id), owner_id, "Device")
        rows = tx.readings.page(device_id, q.from_, q.to, descending, q.limit + 1, after)
    return keyset_page(rows, q.limit, reading_to_json, READINGS.of)


def readings_summary(uow: UnitOfWorkFactory, owner_id: str, device_id: str, query) -> dict:
    """count/min/max/mean/first/last of a device's readings in [from, to)."""
    q = parse_summary_query(query)
    with uow() as tx:
        owned(tx.devices.get(device_id), owner_id, "Device")
        return summarize(tx.readings.values(device_id, q.from_, q.to))
