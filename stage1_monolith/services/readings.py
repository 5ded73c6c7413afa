"""Readings of one of the caller's devices: accept a batch, page through them, summarize."""

from typing import Callable

from homesense_core.cursor import READINGS, keyset_page
from homesense_core.http import Result
from homesense_core.integration_events import AcceptedReading, ReadingsAccepted
from homesense_core.model import reading_to_json
from homesense_core.queries import parse_readings_query, parse_summary_query
from homesense_core.summary import summarize
from homesense_core.validation import parse_readings

# Stage 1 passes a unit-of-work factory: each use case is one SQLite transaction.
from .common import Clock, Idempotency, UnitOfWorkFactory, remember, replay
from .devices import owned_device


def accept_readings(uow: UnitOfWorkFactory, owner_id: str, device_id: str, body: dict, clock: Clock,
                    idem: Idempotency | None = None, wake_worker: Callable[[], None] = lambda: None,
                    request_id: str | None = None) -> Result:
    """202: the batch is durable before we answer; alerts follow asynchronously."""
    now = clock()
    with uow(write=True) as tx:
        device = owned_device(tx, owner_id, device_id)
        previous = replay(tx, owner_id, idem, now)
        if previous is not None:
            return previous
        batch = parse_readings(body, now)
        # The transaction numbers the readings; the outbox row commits with them.
        stored = tx.readings.add_many(device_id, [(r.value, r.recorded_at) for r in batch])
        readings = tuple(AcceptedReading(r.value, r.recorded_at, r.seq) for r in stored)
        # The event carries the readings in array order: that is the evaluation order.
        event = ReadingsAccepted(device, now, readings, request_id)
        tx.outbox.add(event.name, event.to_json(), now)
        result = Result(202, {"accepted": len(readings)})
        remember(tx, owner_id, idem, result, now)
        tx.commit()
    wake_worker()
    return result


def list_readings(uow: UnitOfWorkFactory, owner_id: str, device_id: str, query: dict) -> dict:
    """Readings in [from, to), by (recorded_at, acceptance) asc or desc, keyset paged."""
    q = parse_readings_query(query)
    after = READINGS.position(q.cursor)
    with uow() as tx:
        owned_device(tx, owner_id, device_id)
        rows = tx.readings.page(device_id, q.from_, q.to, q.order == "desc", q.limit + 1, after)
    return keyset_page(rows, q.limit, reading_to_json, READINGS.of)


def readings_summary(uow: UnitOfWorkFactory, owner_id: str, device_id: str, query: dict) -> dict:
    """count, min, max, mean and first/last recorded_at over [from, to)."""
    q = parse_summary_query(query)
    with uow() as tx:
        owned_device(tx, owner_id, device_id)
        return summarize(tx.readings.values(device_id, q.from_, q.to))
