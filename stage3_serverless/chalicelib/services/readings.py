"""Readings of one of the caller's devices: accept a batch, page through them, summarize."""

from homesense_core.cursor import READINGS, keyset_page
from homesense_core.integration_events import AcceptedReading, ReadingsAccepted
from homesense_core.model import reading_to_json
from homesense_core.problems import not_found
from homesense_core.queries import parse_readings_query, parse_summary_query
from homesense_core.summary import summarize
from homesense_core.validation import parse_readings

from ..container import Dependencies
from ..ports import StoredResponse
from .devices import load


def accept_readings(deps: Dependencies, owner_id: str, device_id: str, body: dict,
                    request_id: str | None = None) -> StoredResponse:
    """202: the batch is durable before we answer; alerts follow from the stream."""
    device = load(deps, owner_id, device_id)
    now = deps.clock()
    batch = parse_readings(body, now)
    first = deps.devices.reserve_seqs(owner_id, device_id, len(batch))
    if first is None:
        raise not_found("Device")
    readings = tuple(AcceptedReading(r.value, r.recorded_at, first + i) for i, r in enumerate(batch))
    deps.readings.add(ReadingsAccepted(device, now, readings, request_id))
    return StoredResponse(202, {"accepted": len(readings)}, None)


def list_readings(deps: Dependencies, owner_id: str, device_id: str, query: dict) -> dict:
    """Readings in [from, to), by (recorded_at, acceptance) asc or desc, keyset paged."""
    q = parse_readings_query(query)
    load(deps, owner_id, device_id)
    rows = deps.readings.page(device_id, q.from_, q.to, q.order == "desc", q.limit + 1,
                              READINGS.position(q.cursor))
    return keyset_page(rows, q.limit, reading_to_json, READINGS.of)


def readings_summary(deps: Dependencies, owner_id: str, device_id: str, query: dict) -> dict:
    """count, min, max, mean and first/last recorded_at over [from, to)."""
    q = parse_summary_query(query)
    load(deps, owner_id, device_id)
    return summarize((r.value, r.recorded_at) for r in deps.readings.scan(device_id, q.from_, q.to))
