"""DeviceRepository port: one suite against the in-memory fake and PostgreSQL."""

from dataclasses import replace
from datetime import timedelta

import pytest

from homesense_core.clock import utcnow
from homesense_core.validation import new_device, parse_new_device

from stage2_microservices.services.devices.memory import InMemoryDevicesUnitOfWork, memory_state
from stage2_microservices.services.devices.postgres import PostgresDevicesUnitOfWork, schema_sql
from stage2_microservices.testing.support import units_of_work

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["memory", "postgres"])
async def uow(request):
    async with units_of_work(request.param, request, InMemoryDevicesUnitOfWork, memory_state(),
                             PostgresDevicesUnitOfWork, schema_sql()) as factory:
        yield factory


def _device(owner, name, at):
    return new_device(parse_new_device({"name": name, "kind": "co2", "low_threshold": 1.5}), owner, at)


class TestDeviceRepository:
    async def test_round_trips_every_field(self, uow):
        d = _device("u1", "a", utcnow())
        async with uow() as u:
            await u.devices.add(d)
            await u.commit()
        async with uow() as u:
            assert await u.devices.get(d.id) == d
            assert await u.devices.get("missing") is None

    async def test_pages_oldest_first_per_owner(self, uow):
        t = utcnow()
        mine = [_device("u1", f"d{i}", t + timedelta(seconds=i)) for i in range(3)]
        async with uow() as u:
            for d in reversed(mine):
                await u.devices.add(d)
            await u.devices.add(_device("u2", "other", t))
            await u.commit()
        async with uow() as u:
            first = await u.devices.page("u1", None, 2)
            rest = await u.devices.page("u1", (first[-1].created_at, first[-1].id), 2)
            assert [d.name for d in first + rest] == ["d0", "d1", "d2"]

    async def test_update_and_delete(self, uow):
        d = _device("u1", "a", utcnow())
        async with uow() as u:
            await u.devices.add(d)
            await u.commit()
        changed = replace(d, name="b", high_threshold=None, low_threshold=-2.0)
        async with uow() as u:
            await u.devices.update(changed)
            await u.commit()
        async with uow() as u:
            assert await u.devices.get(d.id) == changed
            await u.devices.delete(d.id)
            await u.commit()
        async with uow() as u:
            assert await u.devices.get(d.id) is None
