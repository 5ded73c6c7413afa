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
NATS_MONITOR_PORT = 8222
GATEWAY_PORT = 8080
GATEWAY_ADMIN_PORT = 9901
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

    @property
    def app(self) -> str:
        """The uvicorn app factory reference."""
        return f"stage2_microservices.services.{self.name}.main:create_app"

    def command(self, host: str, port: int) -> list[str]:
        """The process arguments after the Python interpreter."""
        return ["-m", "uvicorn", self.app, "--factory", "--host", host, "--port", str(port)]


# Order is start order; depends_on names other services or the infrastructure ("postgres", "nats").
SERVICES: tuple[Service, ...] = (
    Service("identity", 8001, "identity", ("postgres", "nats"), needs_data_dir=True),
    Service("devices", 8002, "devices", ("postgres", "nats")),
    Service("telemetry", 8003, "telemetry", ("postgres", "nats", "devices")),
    Service("alerts", 8004, "alerts", ("postgres", "nats", "devices")),
    Service("notifier", 8005, None, ("nats", "identity")),
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
    cors_origins: str = "*"


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
    return env


def compose_endpoints() -> Endpoints:
    """Endpoints as seen inside the compose network (service names resolve by DNS)."""
    return Endpoints(
        postgres_host="postgres", postgres_port=POSTGRES_PORT,
        nats_url=f"nats://nats:{NATS_PORT}",
        service_urls={s.name: f"http://{s.name}:{s.port}" for s in SERVICES},
        data_dir=CONTAINER_DATA_DIR,
    )
