"""Fixtures for every service's tests: real PostgreSQL and nats-server, fresh names per test."""

from stage2_microservices.testing.fixtures import (anyio_backend, database_url,  # noqa: F401
                                                         namespace, nats_server, postgres)
