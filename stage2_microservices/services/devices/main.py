"""Composition root of the devices service: `uvicorn ...devices.main:create_app --factory`."""

from contextlib import asynccontextmanager

from fastapi import FastAPI

from stage2_microservices.common.db import Database
from stage2_microservices.common.messaging import Bus, Topology
from stage2_microservices.common.outbox import OutboxRelay
from stage2_microservices.common.runtime import BackgroundTasks, health_router
from stage2_microservices.common.uow import COMMON_SCHEMA
from stage2_microservices.common.web import configure_logging, install_edges

from .repository import PostgresDevicesUnitOfWork, schema_sql
from .routes import build_router
from .service import DeviceService
from .settings import DevicesSettings


def create_app(settings: DevicesSettings | None = None, *, uow_factory=None, db: Database | None = None,
               bus: Bus | None = None) -> FastAPI:
    """Wire the service; pass uow_factory (an in-memory fake) to run without Postgres and NATS."""
    settings = settings or DevicesSettings()
    configure_logging(settings.service_name, settings.log_level)
    relay = None
    if uow_factory is None:
        db = db or Database(settings.database_url, [COMMON_SCHEMA, schema_sql()], settings.db_pool_max)
        bus = bus or Bus(settings.nats_url, Topology(settings.events_namespace), settings.service_name)
        relay = OutboxRelay(db, bus.publish)
        uow_factory = lambda: PostgresDevicesUnitOfWork(db)  # noqa: E731
    service = DeviceService(uow_factory, on_commit=relay.wake if relay else lambda: None)
    tasks = BackgroundTasks()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if db is not None:
            await db.open()
        if bus is not None:
            await bus.connect()
        if relay is not None:
            tasks.start("outbox-relay", relay.run)
        try:
            yield
        finally:
            await tasks.stop()
            if bus is not None:
                await bus.close()
            if db is not None:
                await db.close()

    app = FastAPI(title="HomeSense devices", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_edges(app, settings.cors_origins)
    app.include_router(build_router(service))
    checks = {}
    if db is not None:
        checks["database"] = db.ping
    if bus is not None:
        checks["nats"] = lambda: bus.is_connected
    app.include_router(health_router(checks))
    app.state.service = service
    return app
