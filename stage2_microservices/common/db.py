"""PostgreSQL connection pool and schema migration at startup (psycopg 3, async)."""

import logging

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger(__name__)

# Any constant works; it only serialises concurrent migrations of replicas of one service.
_MIGRATION_LOCK = 72_001


class Database:
    """A lazily opened pool plus the SQL that makes the schema (idempotent, run at startup)."""

    def __init__(self, url: str, schema_sql: list[str], max_size: int = 8):
        self.url, self.schema_sql, self.max_size = url, schema_sql, max_size
        self._pool: AsyncConnectionPool | None = None

    @property
    def pool(self) -> AsyncConnectionPool:
        """The open pool; RuntimeError before open()."""
        if self._pool is None:
            raise RuntimeError("database not opened")
        return self._pool

    async def open(self, timeout: float = 15.0) -> None:
        """Connect and migrate; raises if the server is unreachable within timeout."""
        self._pool = AsyncConnectionPool(
            self.url, min_size=1, max_size=self.max_size, open=False, timeout=5.0,
            kwargs={"row_factory": dict_row, "autocommit": False},
            check=AsyncConnectionPool.check_connection)
        await self._pool.open(wait=True, timeout=timeout)
        await self.migrate()

    async def migrate(self) -> None:
        """Apply every schema script in one transaction, serialised across replicas."""
        async with self.pool.connection() as conn:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", [_MIGRATION_LOCK])
                for script in self.schema_sql:
                    await conn.execute(script)
        log.info("schema ready")

    async def ping(self) -> bool:
        """True when a trivial query answers."""
        try:
            async with self.pool.connection(timeout=2.0) as conn:
                await conn.execute("SELECT 1")
            return True
        except Exception:  # any failure means "not reachable" for a health check
            return False

    async def close(self) -> None:
        """Close the pool (idempotent)."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def acquire(self) -> AsyncConnection:
        """A connection for a unit of work; give it back with release()."""
        return await self.pool.getconn()

    async def release(self, conn: AsyncConnection) -> None:
        """Return a connection taken with acquire()."""
        await self.pool.putconn(conn)
