"""Alembic migrations for the monolith's SQLite database."""

# The newest revision; a test checks it matches the scripts. Knowing it lets a restart on an
# up-to-date database skip importing Alembic at all (startup must stay fast).
HEAD_REVISION = "0001_initial"
