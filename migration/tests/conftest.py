"""Fixtures: a real PostgreSQL (the stage 2 tests' shared server), one fresh database per service."""
import pytest

from stage2_microservices.common.pytest_fixtures import postgres  # noqa: F401

from migration.data.sqlite_pg import DATABASE, GROUPS


@pytest.fixture
def service_dsns(postgres):  # noqa: F811
    """group -> URL of a fresh, empty database for the service that group lands in."""
    urls = {}
    for group in GROUPS:
        urls[group] = postgres.create_database(DATABASE[group])
    return urls
