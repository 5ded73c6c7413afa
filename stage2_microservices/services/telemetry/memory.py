"""In-memory fakes of the telemetry ports, for unit tests."""

from homesense_core.model import Reading

from stage2_microservices.common.uow import InMemoryUnitOfWork, MemoryState

from .ports import ReadingRepository


def _in_range(r: Reading, start, end) -> bool:
    return (start is None or r.recorded_at >= start) and (end is None or r.recorded_at < end)


class InMemoryReadingRepository(ReadingRepository):
    """List-backed fake."""

    def __init__(self, table: dict):
        self.table = table  # {"rows": [Reading], "next_seq": int}

    async def add(self, device_id, items):
        stored = []
        for value, recorded_at in items:
            self.table["next_seq"] += 1
            stored.append(Reading(device_id, value, recorded_at, self.table["next_seq"]))
        self.table["rows"].extend(stored)
        return stored

    async def page(self, device_id, start, end, descending, after, limit):
        rows = sorted((r for r in self.table["rows"] if r.device_id == device_id and _in_range(r, start, end)),
                      key=lambda r: (r.recorded_at, r.seq), reverse=descending)
        if after is not None:
            rows = [r for r in rows if ((r.recorded_at, r.seq) < after if descending
                                        else (r.recorded_at, r.seq) > after)]
        return rows[:limit]

    async def values(self, device_id, start, end):
        return [(r.value, r.recorded_at) for r in self.table["rows"]
                if r.device_id == device_id and _in_range(r, start, end)]

    async def delete_device(self, device_id):
        self.table["rows"] = [r for r in self.table["rows"] if r.device_id != device_id]


class InMemoryTelemetryUnitOfWork(InMemoryUnitOfWork):
    """Fake transaction with .readings."""

    async def _begin(self):
        await super()._begin()
        self.readings = InMemoryReadingRepository(self.tables["readings"])


def memory_state() -> MemoryState:
    """Empty in-memory tables for the fake."""
    return MemoryState(readings={"rows": [], "next_seq": 0})
