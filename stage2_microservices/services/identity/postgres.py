"""PostgreSQL adapters of the identity ports and its unit of work."""

from pathlib import Path

import psycopg

from homesense_core.model import User
from homesense_core.problems import username_taken
from homesense_core.throttle import Record

from stage2_microservices.common.uow import PostgresUnitOfWork

from .ports import ThrottleRepository, UserRepository


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
            raise username_taken() from exc

    async def _one(self, sql, params):
        cur = await self.conn.execute(sql, params)
        row = await cur.fetchone()
        return User(**row) if row else None

    async def by_username(self, username):
        return await self._one("SELECT * FROM users WHERE username = %s", [username])

    async def by_id(self, user_id):
        return await self._one("SELECT * FROM users WHERE id = %s", [user_id])


class PostgresThrottleRepository(ThrottleRepository):
    """Throttle records; update locks the row for the rest of the transaction (replicas agree)."""

    def __init__(self, conn):
        self.conn = conn

    async def get(self, key):
        cur = await self.conn.execute(
            "SELECT failures, last_at, locked_until FROM throttle WHERE key = %s", [key])
        row = await cur.fetchone()
        return Record(row["failures"], row["last_at"], row["locked_until"]) if row else None

    async def update(self, key, change):
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


def schema_sql() -> str:
    """This service's DDL."""
    return Path(__file__).with_name("schema.sql").read_text()
