"""Readings of one of the caller's devices: accept a batch, page through them, summarize."""

from homesense_core.cursor import READINGS, keyset_page
from homesense_core.http import Result
from homesense_core.integration_events import AcceptedReading, ReadingsAccepted
from homesense_core.model import reading_to_json
from homesense_core.problems import not_found
from homesense_core.queries import parse_readings_query, parse_summary_query
from homesense_core.summary import summarize
from homesense_core.validation import parse_readings

# Stage 3 passes its Dependencies: no transactions, so every write is conditional on what it read.
from ..container import Dependencies
from .devices import owned_device


def accept_readings(deps: Dependencies, owner_id: str, device_id: str, body: dict,
                    request_id: str | None = None) -> Result:
    """202: the batch is durable before we answer; alerts follow asynchronously."""
    now = deps.clock()
    device = owned_device(deps, owner_id, device_id)
    batch = parse_readings(body, now)
    # A conditional write numbers the readings; it fails if the device was deleted meanwhile.
    first = deps.devices.reserve_seqs(owner_id, device_id, len(batch))
    if first is None:
        raise not_found("Device")
    readings = tuple(AcceptedReading(r.value, r.recorded_at, first + i) for i, r in enumerate(batch))
    # The event carries the readings in array order: that is the evaluation order.
    event = ReadingsAccepted(device, now, readings, request_id)
    deps.readings.add(event)  # the table's stream hands the event to the alert evaluator
    return Result(202, {"accepted": len(readings)})


def list_readings(deps: Dependencies, owner_id: str, device_id: str, query: dict) -> dict:
    """Readings in [from, to), by (recorded_at, acceptance) asc or desc, keyset paged."""
    q = parse_readings_query(query)
    after = READINGS.position(q.cursor)
    owned_device(deps, owner_id, device_id)
    rows = deps.readings.page(device_id, q.from_, q.to, q.order == "desc", q.limit + 1, after)
    return keyset_page(rows, q.limit, reading_to_json, READINGS.of)


def readings_summary(deps: Dependencies, owner_id: str, device_id: str, query: dict) -> dict:
    """count, min, max, mean and first/last recorded_at over [from, to)."""
    q = parse_summary_query(query)
    owned_device(deps, owner_id, device_id)
    return summarize(deps.readings.values(device_id, q.from_, q.to))
