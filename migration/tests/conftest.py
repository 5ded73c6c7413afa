"""Fixtures: a real PostgreSQL (the stage 2 tests' shared server), fresh databases per service."""
import pytest

from stage2_microservices.testing.fixtures import postgres  # noqa: F401

from migration.data.sqlite_pg import DATABASE


class FreshDatabases(dict):
    """group -> URL of a fresh, empty database for that group's service, created on first use."""

    def __init__(self, server):
        super().__init__()
        self.server = server

    def __missing__(self, group):
        self[group] = self.server.create_database(DATABASE[group])
        return self[group]


@pytest.fixture(scope="session")
def seeded(tmp_path_factory):
    """One stage 1 data set made through the monolith's use cases, shared by every test (read-only)."""
    from migration.tests.seed import seed_stage1
    return seed_stage1(tmp_path_factory.mktemp("stage1") / "homesense.sqlite3")


@pytest.fixture
def service_dsns(postgres):  # noqa: F811
    return FreshDatabases(postgres)
