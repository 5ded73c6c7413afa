"""Integration: outbox relay into JetStream, de-duplication, durable consumers with redelivery."""

import asyncio
import json

import pytest

from homesense_core.clock import utcnow
from homesense_core.integration_events import AlertChanged, DeviceChanged
from homesense_core.model import Device

from stage2_microservices.common.messaging import Bus, Topology
from stage2_microservices.common.outbox import OutboxRelay
from stage2_microservices.common.uow import COMMON_SCHEMA, PostgresUnitOfWork
from stage2_microservices.testing.support import open_database

pytestmark = pytest.mark.anyio


def numbered(n: int) -> DeviceChanged:
    """A real integration event told apart by n (the device name)."""
    now = utcnow()
    return DeviceChanged("updated", Device(f"d{n}", "o1", f"n{n}", "", "co2", "ppm", None, None, 300, now, now))


@pytest.fixture
async def bus(nats_server, namespace):
    b = Bus(nats_server.url, Topology(namespace), "test")
    await b.connect()
    yield b
    await b.close()


@pytest.fixture
async def db(database_url):
    d = await open_database(database_url, [COMMON_SCHEMA])
    yield d
    await d.close()


async def _collect(bus: Bus, family: str, durable: str, want: int, handler=None, timeout=10.0):
    seen = []

    async def record(event_type, payload, msg_id):
        if handler is not None:
            await handler(event_type, payload, msg_id)
        seen.append((event_type, payload, msg_id))

    task = asyncio.create_task(bus.consume(family, durable, record))
    try:
        async with asyncio.timeout(timeout):
            while len(seen) < want:
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return seen


async def test_relay_publishes_committed_rows_in_order_once(db, bus):
    async with PostgresUnitOfWork(db) as uow:
        for n in range(5):
            await uow.add_event(numbered(n))
        await uow.commit()
    relay = OutboxRelay(db, bus.publish)
    assert await relay.run_once() == 5
    assert await relay.run_once() == 0  # marked sent
    seen = await _collect(bus, "device", "d1", 5)
    assert [p["device"]["name"] for _, p, _ in seen] == ["n0", "n1", "n2", "n3", "n4"]
    info = await bus.js.stream_info(bus.topology.stream("device"))
    assert info.state.messages == 5


async def test_a_republished_outbox_row_is_dropped_by_jetstream(db, bus):
    """A crash after publish but before marking sent re-sends the row: the msg id de-duplicates."""
    async with PostgresUnitOfWork(db) as uow:
        event_id = await uow.add_event(AlertChanged("opened", "o1", {"id": "a1"}))
        await uow.commit()
    relay = OutboxRelay(db, bus.publish)
    await relay.run_once()
    async with db.pool.connection() as conn:
        await conn.execute("UPDATE outbox SET sent_at = NULL WHERE id = %s", [event_id])
    await relay.run_once()
    info = await bus.js.stream_info(bus.topology.stream("alert"))
    assert info.state.messages == 1


async def test_a_failed_handler_gets_the_message_again_before_later_ones(bus):
    for n in range(3):
        await bus.publish("reading.accepted", {"n": n}, f"m{n}")
    failures = {"m0": 1}

    async def flaky(event_type, payload, msg_id):
        if failures.get(msg_id):
            failures[msg_id] -= 1
            raise RuntimeError("transient")

    seen = await _collect(bus, "reading", "r1", 3, handler=flaky)
    assert [m for _, _, m in seen] == ["m0", "m1", "m2"]


async def test_a_durable_consumer_resumes_where_it_stopped(bus):
    await bus.publish("device.created", {"n": 0}, "a0")
    first = await _collect(bus, "device", "resume", 1)
    # Let the stopped consumer's last pull request (1 s) expire, as after a real restart.
    await asyncio.sleep(1.5)
    await bus.publish("device.created", {"n": 1}, "a1")
    second = await _collect(bus, "device", "resume", 1)
    assert [m for _, _, m in first + second] == ["a0", "a1"]


def test_topology_names_are_namespaced():
    t = Topology("abc")
    assert t.subject("alert.opened") == "abc.alert.opened"
    assert t.event_type("abc.alert.opened") == "alert.opened"
    assert t.streams() == {"ABC_DEVICES": ["abc.device.>"], "ABC_READINGS": ["abc.reading.>"],
                           "ABC_ALERTS": ["abc.alert.>"]}
    assert json.dumps(t.streams())  # plain data, safe to log
