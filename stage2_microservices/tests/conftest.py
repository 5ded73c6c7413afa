"""Topologies for the platform tests: one per test module, never one per test."""
from __future__ import annotations

import importlib.util

import pytest

from stage2_microservices import topology
from stage2_microservices.local.runner import LocalTopology

PLACEHOLDER_APP = "stage2_microservices.tests.placeholder_app:create_app"


def real_services_missing() -> list[str]:
    """Services whose main module does not exist yet."""
    return [s.name for s in topology.SERVICES
            if importlib.util.find_spec(f"stage2_microservices.services.{s.name}.main") is None]


@pytest.fixture(scope="module")
def placeholder_topology(tmp_path_factory):
    """Postgres, NATS and Envoy for real, every service played by the placeholder app."""
    apps = {name: PLACEHOLDER_APP for name in topology.SERVICE_NAMES}
    with LocalTopology(tmp_path_factory.mktemp("stage2-placeholder"), apps=apps) as topo:
        yield topo


@pytest.fixture(scope="module")
def real_topology(tmp_path_factory):
    """The real five services behind Envoy (skips while a service is still missing)."""
    missing = real_services_missing()
    if missing:
        pytest.skip(f"stage-2 services not written yet: {missing}")
    with LocalTopology(tmp_path_factory.mktemp("stage2-real")) as topo:
        yield topo
