"""Alembic environment: runs on the connection handed in by the application."""
from alembic import context

from stage1_monolith.adapters.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through stage1_monolith.adapters.database.migrate()")

# render_as_batch: SQLite can only ALTER by copying tables, and batch mode does that for us.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
