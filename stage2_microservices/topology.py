"""The one description of the stage-2 topology: what runs, on which port, with which settings.

The local runner (local.py) starts exactly this; docker-compose.yml, the Dockerfiles and the
compose Envoy config must agree with it, and tests/test_drift.py fails when they do not.
"""
from __future__ import annotations

from dataclasses import dataclass

POSTGRES_USER = "homesense"
# Dev-only credential; both the local runner and compose use it, nothing else trusts it.
POSTGRES_PASSWORD = "homesense"
POSTGRES_PORT = 5432
NATS_PORT = 4222
# NATS accepts only this user; its password is a per-deployment secret (runner: generated into
# the data dir; compose: HOMESENSE_NATS_PASSWORD from the environment or an .env file).
NATS_USER = "homesense"
COMPOSE_NATS_PASSWORD = "${HOMESENSE_NATS_PASSWORD:?set HOMESENSE_NATS_PASSWORD to a random secret}"
COMPOSE_SERVICE_TOKEN = "${HOMESENSE_SERVICE_TOKEN:?set HOMESENSE_SERVICE_TOKEN to a random secret}"
NATS_MONITOR_PORT = 8222
GATEWAY_PORT = 8080
# Inside the gateway container only; `docker compose exec gateway curl --unix-socket ...`.
GATEWAY_ADMIN_SOCKET = "/tmp/envoy-admin.sock"
CONTAINER_DATA_DIR = "/var/lib/homesense"
HEALTH_PATH = "/healthz"


@dataclass(frozen=True)
class Service:
    """One FastAPI deployable: its module, container port, database and start-up dependencies."""

    name: str
    port: int
    database: str | None
    depends_on: tuple[str, ...]
    needs_data_dir: bool = False
    # Verifies tokens against identity's JWKS and shares the service token (for /internal calls).
    needs_service_token: bool = False

    @property
    def app(self) -> str:
        """The uvicorn app factory reference."""
        return f"stage2_microservices.services.{self.name}.main:create_app"

    def command(self, host: str, port: int) -> list[str]:
        """The process arguments after the Python interpreter."""
        # No `server: uvicorn` header: software names help only attackers (the gateway drops
        # it too, but the migration steps put API Gateway straight in front of the services).
        return ["-m", "uvicorn", self.app, "--factory", "--no-server-header", "--host", host, "--port", str(port)]


# depends_on is what a service needs to START: its own database and the bus. Peers (devices for
# lookups, identity for the JWKS) are called at request time, and one that is down is a 503 for
# that request (the fault tests show it), so the five services start together: waiting for peers
# would only serialise five Python start-ups on a small machine.
SERVICES: tuple[Service, ...] = (
    Service("identity", 8001, "identity", ("postgres", "nats"), needs_data_dir=True),
    Service("devices", 8002, "devices", ("postgres", "nats"), needs_service_token=True),
    Service("telemetry", 8003, "telemetry", ("postgres", "nats"), needs_service_token=True),
    Service("alerts", 8004, "alerts", ("postgres", "nats"), needs_service_token=True),
    Service("notifier", 8005, None, ("nats",)),
)
SERVICE_NAMES = tuple(s.name for s in SERVICES)
DATABASES = tuple(s.database for s in SERVICES if s.database)


def service(name: str) -> Service:
    """The service called name (KeyError if there is none)."""
    for s in SERVICES:
        if s.name == name:
            return s
    raise KeyError(name)


@dataclass(frozen=True)
class Endpoints:
    """Where things are reachable from a service's point of view (localhost ports or compose DNS)."""

    postgres_host: str
    postgres_port: int
    nats_url: str
    service_urls: dict[str, str]
    data_dir: str
    # Shared secret of service-to-service calls.
    service_token: str
    cors_origins: str = "*"


def nats_url(password: str, host: str, port: int) -> str:
    """The NATS client URL with the deployment's credentials."""
    return f"nats://{NATS_USER}:{password}@{host}:{port}"


def database_url(endpoints: Endpoints, database: str) -> str:
    """The PostgreSQL URL of one service database."""
    return (f"postgresql://{POSTGRES_USER}:{POSTGRES_PASSWORD}@"
            f"{endpoints.postgres_host}:{endpoints.postgres_port}/{database}")


def service_env(svc: Service, endpoints: Endpoints) -> dict[str, str]:
    """Every HOMESENSE_* variable the topology gives a service."""
    env = {
        "HOMESENSE_SERVICE_NAME": svc.name,
        "HOMESENSE_NATS_URL": endpoints.nats_url,
        "HOMESENSE_IDENTITY_URL": endpoints.service_urls["identity"],
        "HOMESENSE_DEVICES_URL": endpoints.service_urls["devices"],
        "HOMESENSE_CORS_ORIGINS": endpoints.cors_origins,
    }
    if svc.database:
        env["HOMESENSE_DATABASE_URL"] = database_url(endpoints, svc.database)
    if svc.needs_data_dir:
        env["HOMESENSE_DATA_DIR"] = endpoints.data_dir
    if svc.needs_service_token:
        env["HOMESENSE_SERVICE_TOKEN"] = endpoints.service_token
    return env


def compose_endpoints() -> Endpoints:
    """Endpoints as seen inside the compose network (service names resolve by DNS)."""
    return Endpoints(
        postgres_host="postgres", postgres_port=POSTGRES_PORT,
        nats_url=nats_url(COMPOSE_NATS_PASSWORD, "nats", NATS_PORT),
        service_urls={s.name: f"http://{s.name}:{s.port}" for s in SERVICES},
        data_dir=CONTAINER_DATA_DIR,
        service_token=COMPOSE_SERVICE_TOKEN,
    )
