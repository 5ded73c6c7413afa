"""Composition root of the telemetry service: `uvicorn ...telemetry.main:create_app --factory`."""

from contextlib import asynccontextmanager

from fastapi import FastAPI

from stage2_microservices.common.db import Database
from stage2_microservices.common.devices_client import DeviceDirectory, HttpDeviceDirectory
from stage2_microservices.common.messaging import Bus, Topology
from stage2_microservices.common.outbox import OutboxRelay
from stage2_microservices.common.runtime import BackgroundTasks, health_router
from stage2_microservices.common.uow import COMMON_SCHEMA
from stage2_microservices.common.web import configure_logging, install_edges

from .repository import PostgresTelemetryUnitOfWork, schema_sql
from .routes import build_router
from .service import DEVICES_CONSUMER, TelemetryService
from .settings import TelemetrySettings


def create_app(settings: TelemetrySettings | None = None, *, uow_factory=None,
               devices: DeviceDirectory | None = None, db: Database | None = None,
               bus: Bus | None = None) -> FastAPI:
    """Wire the service; pass uow_factory and devices (fakes) to run without Postgres, NATS, devices."""
    settings = settings or TelemetrySettings()
    configure_logging(settings.service_name, settings.log_level)
    relay = None
    if uow_factory is None:
        db = db or Database(settings.database_url, [COMMON_SCHEMA, schema_sql()], settings.db_pool_max)
        bus = bus or Bus(settings.nats_url, Topology(settings.events_namespace), settings.service_name)
        relay = OutboxRelay(db, bus.publish)
        uow_factory = lambda: PostgresTelemetryUnitOfWork(db)  # noqa: E731
    devices = devices or HttpDeviceDirectory(settings.devices_url)
    service = TelemetryService(uow_factory, devices, on_commit=relay.wake if relay else lambda: None)
    tasks = BackgroundTasks()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if db is not None:
            await db.open()
        if bus is not None:
            await bus.connect()
            tasks.start("outbox-relay", relay.run)
            tasks.start("device-events", lambda: bus.consume(
                "device", DEVICES_CONSUMER, service.on_device_event, filter_event="device.deleted"))
        try:
            yield
        finally:
            await tasks.stop()
            if bus is not None:
                await bus.close()
            if db is not None:
                await db.close()
            await devices.close()

    app = FastAPI(title="HomeSense telemetry", lifespan=lifespan, docs_url=None, redoc_url=None)
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
