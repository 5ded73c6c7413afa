"""SQLite engine (WAL, durable commits) and programmatic Alembic migrations."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(path: Path) -> Engine:
    """Engine on a SQLite file; transactions are begun explicitly (see _begin)."""
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": 10},
        pool_size=8,
        max_overflow=64,
        pool_timeout=30,
    )
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _begin)
    return engine


def _on_connect(dbapi_connection, _record) -> None:
    # Let SQLAlchemy (not pysqlite) decide when BEGIN happens, so writers can BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a 202 promises durability, so every commit is fsynced.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _begin(connection) -> None:
    # IMMEDIATE takes the write lock up front: no deadlock-prone upgrade from a read lock.
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at, or None for a fresh one."""
    with engine.connect() as connection:
        if not connection.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'").first():
            return None
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from stage1_monolith.migrations import HEAD_REVISION

    if current_revision(engine) == HEAD_REVISION:
        return
    import logging

    # Alembic's INFO lines about its plugins drown the useful ones.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as connection:
        connection.execution_options(sqlite_begin="IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()
