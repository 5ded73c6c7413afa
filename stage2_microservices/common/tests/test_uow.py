"""The unit-of-work port: one behaviour suite run against the in-memory fake and PostgreSQL."""

from datetime import timedelta

import pytest

from homesense_core.clock import utcnow
from homesense_core.http import Result
from homesense_core.integration_events import DeviceChanged
from homesense_core.model import Device
from homesense_core.problems import ValidationFailed

from stage2_microservices.common.uow import (COMMON_SCHEMA, InMemoryUnitOfWork, MemoryState,
                                              PostgresUnitOfWork)
from stage2_microservices.testing.support import open_database

pytestmark = pytest.mark.anyio


def numbered(n: int, change: str = "updated") -> DeviceChanged:
    """A real integration event told apart by n (the device name)."""
    now = utcnow()
    return DeviceChanged(change, Device(f"d{n}", "o1", f"n{n}", "", "co2", "ppm", None, None, 300, now, now))


@pytest.fixture(params=["memory", "postgres"])
async def harness(request):
    """(uow factory, committed outbox reader) for each adapter."""
    if request.param == "memory":
        state = MemoryState()
        yield (lambda: InMemoryUnitOfWork(state)), (lambda: _memory_outbox(state))
        return
    db = await open_database(request.getfixturevalue("database_url"), [COMMON_SCHEMA])

    async def outbox():
        async with db.pool.connection() as conn:
            cur = await conn.execute("SELECT event_type, payload FROM outbox ORDER BY position")
            return [(r["event_type"], r["payload"]["device"]["name"]) for r in await cur.fetchall()]

    yield (lambda: PostgresUnitOfWork(db)), outbox
    await db.close()


async def _memory_outbox(state):
    return [(e.event_type, e.payload["device"]["name"]) for e in state.outbox]


class TestUnitOfWork:
    async def test_committed_events_are_kept_in_order(self, harness):
        uow, outbox = harness
        async with uow() as u:
            await u.add_event(numbered(1, "created"))
            await u.add_event(numbered(2))
            await u.commit()
        assert await outbox() == [("device.created", "n1"), ("device.updated", "n2")]

    async def test_uncommitted_events_vanish(self, harness):
        uow, outbox = harness
        async with uow() as u:
            await u.add_event(numbered(1))
        with pytest.raises(RuntimeError):
            async with uow() as u:
                await u.add_event(numbered(2))
                raise RuntimeError("boom")
        assert await outbox() == []

    async def test_a_message_is_processed_once_per_consumer(self, harness):
        uow, _ = harness
        async with uow() as u:
            assert await u.first_delivery("c1", "m1") is True
            await u.commit()
        async with uow() as u:
            assert await u.first_delivery("c1", "m1") is False
            assert await u.first_delivery("c2", "m1") is True
            await u.commit()

    async def test_an_uncommitted_delivery_is_not_remembered(self, harness):
        uow, _ = harness
        async with uow() as u:
            assert await u.first_delivery("c1", "m1") is True
        async with uow() as u:
            assert await u.first_delivery("c1", "m1") is True

    async def test_idempotency_replays_the_first_response(self, harness):
        uow, _ = harness
        now = utcnow()
        first = Result(201, {"id": "x"}, "/devices/x")
        async with uow() as u:
            assert await u.claim_idempotency("u1", "k", "fp", now) is None
            await u.save_idempotency("u1", "k", "fp", first, now)
            await u.commit()
        async with uow() as u:
            assert await u.claim_idempotency("u1", "k", "fp", now) == first
            assert await u.claim_idempotency("u2", "k", "fp", now) is None

    async def test_idempotency_key_with_other_request_is_422(self, harness):
        uow, _ = harness
        now = utcnow()
        async with uow() as u:
            await u.claim_idempotency("u1", "k", "fp", now)
            await u.save_idempotency("u1", "k", "fp", Result(202, {"accepted": 1}), now)
            await u.commit()
        async with uow() as u:
            with pytest.raises(ValidationFailed) as err:
                await u.claim_idempotency("u1", "k", "other", now)
        assert err.value.errors[0].field == "Idempotency-Key"

    async def test_idempotency_expires_after_24_hours(self, harness):
        uow, _ = harness
        then = utcnow() - timedelta(hours=25)
        async with uow() as u:
            await u.claim_idempotency("u1", "k", "fp", then)
            await u.save_idempotency("u1", "k", "fp", Result(202, {"accepted": 1}), then)
            await u.commit()
        async with uow() as u:
            assert await u.claim_idempotency("u1", "k", "other", utcnow()) is None
