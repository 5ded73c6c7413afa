"""Fixtures: a real PostgreSQL (the stage 2 tests' shared server), fresh databases per service."""
import pytest

from stage2_microservices.common.pytest_fixtures import postgres  # noqa: F401

from migration.data.sqlite_pg import DATABASE


class FreshDatabases(dict):
    """group -> URL of a fresh, empty database for that group's service, created on first use."""

    def __init__(self, server):
        super().__init__()
        self.server = server

    def __missing__(self, group):
        self[group] = self.server.create_database(DATABASE[group])
        return self[group]


@pytest.fixture
def service_dsns(postgres):  # noqa: F811
    return FreshDatabases(postgres)
