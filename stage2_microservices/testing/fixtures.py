"""Shared pytest fixtures of the stage-2 tests (imported by the conftest files)."""

import pytest

from .support import shared_server, unique_namespace


@pytest.fixture
def anyio_backend():
    """Async tests run on asyncio (the services' loop)."""
    return "asyncio"


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL per test process."""
    return shared_server("postgres")


@pytest.fixture(scope="session")
def nats_server():
    """One real nats-server (JetStream) per test process."""
    return shared_server("nats")


@pytest.fixture
def database_url(postgres):
    """A fresh empty database for this test."""
    return postgres.create_database()


@pytest.fixture
def namespace():
    """A fresh events namespace (streams and subjects) for this test."""
    return unique_namespace()
