"""Unit of work port: one atomic change of state, outbox events, inbox marks and idempotency records.

Services subclass PostgresUnitOfWork / InMemoryUnitOfWork and attach their repositories,
so the state change and the event that announces it commit together or not at all.
"""

import asyncio
import copy
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta

from homesense_core.http import Result
from homesense_core.idempotency import IDEMPOTENCY_TTL_SECONDS, PROCEED, decide, is_fresh
from homesense_core.ids import new_id
from homesense_core.integration_events import IntegrationEvent

from .db import Database


@dataclass(frozen=True)
class OutboxEvent:
    """An event waiting to be published; id becomes the Nats-Msg-Id."""

    id: str
    event_type: str
    payload: dict


class UnitOfWork(ABC):
    """Async context manager; changes vanish unless commit() is awaited inside it."""

    _committed = False

    async def __aenter__(self):
        self._committed = False
        await self._begin()
        return self

    async def __aexit__(self, *exc_info):
        try:
            if not self._committed:
                await self._rollback()
        finally:
            await self._end()

    async def commit(self) -> None:
        """Make every change of this unit durable at once."""
        await self._commit()
        self._committed = True

    @abstractmethod
    async def _begin(self): ...

    @abstractmethod
    async def _commit(self): ...

    @abstractmethod
    async def _rollback(self): ...

    @abstractmethod
    async def _end(self): ...

    async def add_event(self, event: IntegrationEvent) -> str:
        """Queue an integration event in the outbox of this transaction; returns its id."""
        return await self._queue(event.name, event.to_json())

    @abstractmethod
    async def _queue(self, event_type: str, payload: dict) -> str:
        """Insert one outbox row; its id becomes the Nats-Msg-Id."""

    @abstractmethod
    async def first_delivery(self, consumer: str, msg_id: str) -> bool:
        """Remember msg_id for consumer; False if it was already processed (skip the effect)."""

    @abstractmethod
    async def claim_idempotency(self, user_id: str, key: str, fingerprint: str,
                                now: datetime) -> Result | None:
        """The stored response for a repeat, None for a first use; 422 if the key was used otherwise."""

    @abstractmethod
    async def save_idempotency(self, user_id: str, key: str, fingerprint: str,
                               response: Result, now: datetime) -> None:
        """Store the response of a first use, in this transaction."""


COMMON_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    position    BIGSERIAL PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    event_type  TEXT NOT NULL,
    payload     JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at     TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (position) WHERE sent_at IS NULL;

CREATE TABLE IF NOT EXISTS inbox (
    consumer     TEXT NOT NULL,
    msg_id       TEXT NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, msg_id)
);

CREATE TABLE IF NOT EXISTS idempotency_keys (
    user_id     TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    status      INTEGER,
    body        JSONB,
    headers     JSONB,
    PRIMARY KEY (user_id, key)
);
"""


class PostgresUnitOfWork(UnitOfWork):
    """One pooled connection, one transaction."""

    def __init__(self, db: Database):
        self.db = db
        self.conn = None

    async def _begin(self):
        self.conn = await self.db.acquire()

    async def _commit(self):
        await self.conn.commit()

    async def _rollback(self):
        await self.conn.rollback()

    async def _end(self):
        conn, self.conn = self.conn, None
        if conn is not None:
            await self.db.release(conn)

    async def _queue(self, event_type: str, payload: dict) -> str:
        event_id = new_id()
        await self.conn.execute(
            "INSERT INTO outbox (id, event_type, payload) VALUES (%s, %s, %s)",
            [event_id, event_type, json.dumps(payload)])
        return event_id

    async def first_delivery(self, consumer: str, msg_id: str) -> bool:
        cur = await self.conn.execute(
            "INSERT INTO inbox (consumer, msg_id) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1",
            [consumer, msg_id])
        return await cur.fetchone() is not None

    async def claim_idempotency(self, user_id, key, fingerprint, now):
        # The insert waits on a concurrent first use of the same key until it commits or aborts.
        cur = await self.conn.execute(
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING RETURNING 1", [user_id, key, fingerprint, now])
        if await cur.fetchone() is not None:
            return None
        cur = await self.conn.execute(
            "SELECT fingerprint, created_at, status, body, headers FROM idempotency_keys"
            " WHERE user_id = %s AND key = %s FOR UPDATE", [user_id, key])
        row = await cur.fetchone()
        # A row without a response belongs to a first use whose transaction died: take it over.
        if row["status"] is None or decide(row["fingerprint"], fingerprint,
                                           fresh=is_fresh(row["created_at"], now)) == PROCEED:
            await self.conn.execute(
                "UPDATE idempotency_keys SET fingerprint = %s, created_at = %s, status = NULL,"
                " body = NULL, headers = NULL WHERE user_id = %s AND key = %s",
                [fingerprint, now, user_id, key])
            return None
        return Result(row["status"], row["body"], (row["headers"] or {}).get("Location"))

    async def save_idempotency(self, user_id, key, fingerprint, response, now):
        await self.conn.execute(
            "UPDATE idempotency_keys SET status = %s, body = %s, headers = %s"
            " WHERE user_id = %s AND key = %s",
            # The headers column holds what a replay sends back besides the body.
            [response.status, json.dumps(response.body),
             json.dumps({"Location": response.location} if response.location else {}), user_id, key])

    async def purge_expired_idempotency(self, now: datetime) -> None:
        """Drop records older than the 24 h window."""
        await self.conn.execute("DELETE FROM idempotency_keys WHERE created_at <= %s",
                                [now - timedelta(seconds=IDEMPOTENCY_TTL_SECONDS)])


class MemoryState:
    """Committed tables of an in-memory store; a unit of work edits a deep copy."""

    def __init__(self, **tables):
        self.tables = {"outbox": [], "inbox": set(), "idempotency": {}, **tables}
        self.lock = asyncio.Lock()

    @property
    def outbox(self) -> list[OutboxEvent]:
        """Events committed so far (what a relay would publish)."""
        return self.tables["outbox"]


class InMemoryUnitOfWork(UnitOfWork):
    """Fake for unit tests: serialised by a lock, copy-on-begin, swap-on-commit."""

    def __init__(self, state: MemoryState):
        self.state = state
        self.tables = None

    async def _begin(self):
        await self.state.lock.acquire()
        self.tables = copy.deepcopy(self.state.tables)

    async def _commit(self):
        self.state.tables = self.tables
        self.tables = copy.deepcopy(self.tables)

    async def _rollback(self):
        self.tables = None

    async def _end(self):
        self.state.lock.release()

    async def _queue(self, event_type, payload):
        event = OutboxEvent(new_id(), event_type, copy.deepcopy(payload))
        self.tables["outbox"].append(event)
        return event.id

    async def first_delivery(self, consumer, msg_id):
        if (consumer, msg_id) in self.tables["inbox"]:
            return False
        self.tables["inbox"].add((consumer, msg_id))
        return True

    async def claim_idempotency(self, user_id, key, fingerprint, now):
        record = self.tables["idempotency"].get((user_id, key))
        if record is None or decide(record[0], fingerprint, fresh=is_fresh(record[1], now)) == PROCEED:
            return None
        return record[2]

    async def save_idempotency(self, user_id, key, fingerprint, response, now):
        self.tables["idempotency"][(user_id, key)] = (fingerprint, now, response)
