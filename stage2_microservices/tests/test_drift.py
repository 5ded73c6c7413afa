"""docker-compose.yml, the Dockerfiles, the compose Envoy config and the local runner agree with topology.py."""
from __future__ import annotations

import copy

import pytest
import yaml

from stage2_microservices import topology
from stage2_microservices.local.runner import LocalTopology
from stage2_microservices.tests import drift


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(drift.COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def lock() -> dict[str, str]:
    return drift.locked_versions()


@pytest.fixture
def runner(tmp_path) -> LocalTopology:
    # Constructing the runner starts nothing; it only lays out ports, argv and environments.
    return LocalTopology(tmp_path, env={})


def test_compose_matches_topology(compose):
    assert drift.compose_drift(compose) == []


@pytest.mark.parametrize("svc", topology.SERVICES, ids=topology.SERVICE_NAMES)
def test_dockerfile_matches_topology(svc, lock):
    assert drift.dockerfile_drift(svc, drift.dockerfile_path(svc.name).read_text(), lock) == []


def test_compose_gateway_config_is_rendered_from_the_template():
    assert drift.gateway_drift(drift.render.COMPOSE_CONFIG.read_text()) == []


def test_local_runner_matches_topology(runner):
    assert drift.runner_drift(runner) == []


@pytest.mark.parametrize("svc", topology.SERVICES, ids=topology.SERVICE_NAMES)
def test_topology_provides_every_required_variable_of_a_service(svc):
    env_file = drift.SERVICES_DIR / svc.name / "ENV"
    if not env_file.exists():
        pytest.skip(f"{svc.name} has no ENV file yet")
    assert drift.env_file_drift(svc, env_file.read_text()) == []


# The checks above must be able to fail: each mutation below is a drift they have to report.

def _mutated(compose: dict, path: list, value) -> dict:
    doc = copy.deepcopy(compose)
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


# Each mutation names what the report must say, so a check that fails for another reason
# (or reports an unrelated problem) does not count as catching it.
@pytest.mark.parametrize("path,value,named", [
    (["services", "telemetry", "environment", "HOMESENSE_DEVICES_URL"], "http://devices:9999",
     ["telemetry:", "HOMESENSE_DEVICES_URL", "http://devices:9999"]),
    (["services", "alerts", "environment", "HOMESENSE_DATABASE_URL"], None, ["alerts:", "HOMESENSE_DATABASE_URL"]),
    (["services", "devices", "healthcheck", "test"], ["CMD", "true"], ["devices:", "healthcheck", "8002"]),
    (["services", "notifier", "depends_on"], {"nats": {"condition": "service_healthy"},
                                              "identity": {"condition": "service_healthy"}},
     ["notifier:", "depends_on", "identity"]),
    (["services", "identity", "build", "dockerfile"], "Dockerfile", ["identity:", "Dockerfile"]),
    (["services", "nats", "command"], ["-m", "8222"], ["nats:", "-js"]),
    (["configs", "postgres-databases", "content"], "CREATE DATABASE identity;\n", ["postgres:", "devices"]),
    (["services", "alerts"], None, ["compose services", "alerts"]),
], ids=["env-value", "env-missing", "healthcheck", "depends-on", "dockerfile", "no-jetstream",
        "databases", "service-missing"])
def test_compose_drift_is_reported(compose, path, value, named):
    problems = drift.compose_drift(_mutated(compose, path, value))
    assert len(problems) >= 1
    assert any(all(word in p for word in named) for p in problems), problems


@pytest.mark.parametrize("old,new,named", [
    ("EXPOSE 8003", "EXPOSE 9003", ["EXPOSE", "9003", "8003"]),
    ('"--port", "8003"', '"--port", "9003"', ["CMD", "'9003'"]),
    ("USER 10001", "USER root", ["non-root USER"]),
    ("fastapi==0.163.2", "fastapi==0.100.0", ["fastapi==0.100.0", "0.163.2"]),
    ("telemetry.main:create_app", "devices.main:create_app", ["CMD", "devices.main:create_app"]),
    ("ARG PYTHON_IMAGE=python:3.11-slim", "ARG PYTHON_IMAGE=python:3.12-slim", ["FROM", "ARG PYTHON_IMAGE"]),
    ("FROM ${PYTHON_IMAGE}\n", "FROM python:latest\n", ["FROM", "python:latest"]),
])
def test_dockerfile_drift_is_reported(lock, old, new, named):
    svc = topology.service("telemetry")
    text = drift.dockerfile_path("telemetry").read_text()
    assert old in text
    problems = drift.dockerfile_drift(svc, text.replace(old, new), lock)
    assert any(p.startswith("telemetry/Dockerfile:") and all(w in p for w in named) for p in problems), problems


def test_stale_gateway_config_is_reported():
    text = drift.render.COMPOSE_CONFIG.read_text().replace("port_value: 8004", "port_value: 8014")
    assert drift.gateway_drift(text) == [
        "stage2_microservices/gateway/envoy.compose.yaml is stale: run `python -m stage2_microservices.gateway.render`"]


def test_runner_drift_is_reported(runner):
    runner.processes["devices"].argv[-1] = "1"
    runner.processes["alerts"].env.pop("HOMESENSE_NATS_URL")
    problems = drift.runner_drift(runner)
    assert any(p.startswith("runner devices") for p in problems), problems
    assert any(p.startswith("runner alerts") and "HOMESENSE_NATS_URL" in p for p in problems), problems


def test_missing_required_variable_is_reported():
    text = "HOMESENSE_DATABASE_URL  # required\nHOMESENSE_SECRET_SAUCE  # required: new\n"
    assert drift.env_file_drift(topology.service("devices"), text) == [
        "devices/ENV: HOMESENSE_SECRET_SAUCE is required but the topology does not set it"]
