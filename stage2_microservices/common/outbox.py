"""Outbox relay: publishes committed outbox rows to JetStream in order, then marks them sent.

A crash between publish and mark re-publishes the same rows with the same Nats-Msg-Id,
which JetStream drops within its duplicate window: effectively exactly-once into the stream.
"""

import asyncio
import logging
from datetime import timedelta

from homesense_core.clock import utcnow

from .db import Database

log = logging.getLogger(__name__)

# Only one relay per database publishes at a time, so replicas cannot reorder events.
_RELAY_LOCK = 72_002


class OutboxRelay:
    """Background task; wake() after a commit for low latency, polling covers the rest."""

    def __init__(self, db: Database, publish, poll_interval: float = 0.5, batch: int = 100,
                 keep_sent: timedelta = timedelta(hours=1)):
        self.db, self.publish = db, publish
        self.poll_interval, self.batch, self.keep_sent = poll_interval, batch, keep_sent
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Ask for a run now (call after committing an outbox row)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Publish up to one batch; returns how many rows were sent."""
        async with self.db.pool.connection() as conn:
            async with conn.transaction():
                cur = await conn.execute("SELECT pg_try_advisory_xact_lock(%s) AS got", [_RELAY_LOCK])
                if not (await cur.fetchone())["got"]:
                    return 0
                cur = await conn.execute(
                    "SELECT id, event_type, payload FROM outbox WHERE sent_at IS NULL"
                    " ORDER BY position LIMIT %s", [self.batch])
                rows = await cur.fetchall()
                for row in rows:
                    await self.publish(row["event_type"], row["payload"], row["id"])
                if rows:
                    await conn.execute("UPDATE outbox SET sent_at = now() WHERE id = ANY(%s)",
                                       [[r["id"] for r in rows]])
                return len(rows)

    async def purge(self) -> None:
        """Drop rows sent long ago (they are in the stream)."""
        async with self.db.pool.connection() as conn:
            await conn.execute("DELETE FROM outbox WHERE sent_at < %s", [utcnow() - self.keep_sent])

    async def run(self) -> None:
        """Loop forever; failures (NATS down) are logged and retried on the next tick."""
        ticks = 0
        while True:
            sent = 0
            self._wake.clear()
            try:
                sent = await self.run_once()
                ticks += 1
                if ticks % 1000 == 0:
                    await self.purge()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay: %s", exc)
            if sent >= self.batch:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            except asyncio.TimeoutError:
                pass
