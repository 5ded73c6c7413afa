"""User storage port with an in-memory fake and a PostgreSQL adapter, and their units of work."""

from abc import ABC, abstractmethod
from pathlib import Path

import psycopg

from homesense_core.model import User
from homesense_core.problems import Conflict
from homesense_core.throttle import Record, Update

from stage2_microservices.common.uow import InMemoryUnitOfWork, MemoryState, PostgresUnitOfWork


class UserRepository(ABC):
    """Accounts."""

    @abstractmethod
    async def add(self, user: User) -> None:
        """Insert; Conflict if the username is taken."""

    @abstractmethod
    async def by_username(self, username: str) -> User | None:
        """Lookup for login."""

    @abstractmethod
    async def by_id(self, user_id: str) -> User | None:
        """Lookup for /me."""


class InMemoryUserRepository(UserRepository):
    """Dict-backed fake."""

    def __init__(self, rows: dict):
        self.rows = rows

    async def add(self, user):
        if any(u.username == user.username for u in self.rows.values()):
            raise Conflict("The username is taken.")
        self.rows[user.id] = user

    async def by_username(self, username):
        return next((u for u in self.rows.values() if u.username == username), None)

    async def by_id(self, user_id):
        return self.rows.get(user_id)


class PostgresUserRepository(UserRepository):
    """SQL over the unit of work's connection."""

    def __init__(self, conn):
        self.conn = conn

    async def add(self, user):
        try:
            # A savepoint keeps the transaction usable after the unique violation.
            async with self.conn.transaction():
                await self.conn.execute(
                    "INSERT INTO users (id, username, password_hash, created_at) VALUES (%s, %s, %s, %s)",
                    [user.id, user.username, user.password_hash, user.created_at])
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict("The username is taken.") from exc

    async def _one(self, sql, params):
        cur = await self.conn.execute(sql, params)
        row = await cur.fetchone()
        return User(**row) if row else None

    async def by_username(self, username):
        return await self._one("SELECT * FROM users WHERE username = %s", [username])

    async def by_id(self, user_id):
        return await self._one("SELECT * FROM users WHERE id = %s", [user_id])


class InMemoryThrottleRepository:
    """Throttle records in the fake's tables."""

    def __init__(self, rows: dict):
        self.rows = rows

    async def get(self, key: str) -> Record | None:
        return self.rows.get(key)

    async def update(self, key: str, change: Update) -> Record:
        self.rows[key] = change(self.rows.get(key))
        return self.rows[key]


class PostgresThrottleRepository:
    """Throttle records; update locks the row for the rest of the transaction (replicas agree)."""

    def __init__(self, conn):
        self.conn = conn

    async def get(self, key: str) -> Record | None:
        cur = await self.conn.execute(
            "SELECT failures, last_at, locked_until FROM throttle WHERE key = %s", [key])
        row = await cur.fetchone()
        return Record(row["failures"], row["last_at"], row["locked_until"]) if row else None

    async def update(self, key: str, change: Update) -> Record:
        # Create the row first so FOR UPDATE always has something to lock.
        await self.conn.execute("INSERT INTO throttle VALUES (%s, 0, 0, 0) ON CONFLICT (key) DO NOTHING", [key])
        cur = await self.conn.execute(
            "SELECT failures, last_at, locked_until FROM throttle WHERE key = %s FOR UPDATE", [key])
        row = await cur.fetchone()
        current = Record(row["failures"], row["last_at"], row["locked_until"]) if row["last_at"] else None
        new = change(current)
        await self.conn.execute("UPDATE throttle SET failures = %s, last_at = %s, locked_until = %s WHERE key = %s",
                                [new.failures, new.last_at, new.locked_until, key])
        return new


class PostgresIdentityUnitOfWork(PostgresUnitOfWork):
    """A transaction with .users and .throttle."""

    async def _begin(self):
        await super()._begin()
        self.users = PostgresUserRepository(self.conn)
        self.throttle = PostgresThrottleRepository(self.conn)


class InMemoryIdentityUnitOfWork(InMemoryUnitOfWork):
    """Fake transaction with .users and .throttle."""

    async def _begin(self):
        await super()._begin()
        self.users = InMemoryUserRepository(self.tables["users"])
        self.throttle = InMemoryThrottleRepository(self.tables["throttle"])


def memory_state() -> MemoryState:
    """Empty in-memory tables for the fake."""
    return MemoryState(users={}, throttle={})


def schema_sql() -> str:
    """This service's DDL."""
    return Path(__file__).with_name("schema.sql").read_text()
