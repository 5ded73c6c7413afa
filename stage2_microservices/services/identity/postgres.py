"""PostgreSQL adapters of the identity ports and its unit of work."""

from pathlib import Path

import psycopg

from homesense_core.model import User
from homesense_core.problems import username_taken

from stage2_microservices.common.uow import PostgresUnitOfWork

from .ports import UserRepository


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


class PostgresIdentityUnitOfWork(PostgresUnitOfWork):
    """A transaction with .users."""

    async def _begin(self):
        await super()._begin()
        self.users = PostgresUserRepository(self.conn)


def schema_sql() -> str:
    """This service's DDL."""
    return Path(__file__).with_name("schema.sql").read_text()
