"""Composition root of the telemetry service: `uvicorn ...telemetry.main:create_app --factory`."""

from fastapi import FastAPI

from homesense_core.integration_events import DeviceChanged

from stage2_microservices.common.app import build_service_app, service_http_client, service_persistence
from stage2_microservices.common.auth import JwksVerifier, identity_jwks
from stage2_microservices.common.db import Database
from stage2_microservices.common.devices_client import DeviceDirectory, HttpDeviceDirectory
from stage2_microservices.common.messaging import Bus
from stage2_microservices.common.web import configure_logging

from .postgres import PostgresTelemetryUnitOfWork, schema_sql
from .routes import build_router
from .service import DEVICES_CONSUMER, TelemetryService
from .settings import TelemetrySettings


def create_app(settings: TelemetrySettings | None = None, *, uow_factory=None,
               devices: DeviceDirectory | None = None, db: Database | None = None,
               bus: Bus | None = None, verifier: JwksVerifier | None = None) -> FastAPI:
    """Wire the service; pass uow_factory and devices (fakes) to run without Postgres, NATS, devices."""
    settings = settings or TelemetrySettings()
    configure_logging(settings.service_name, settings.log_level)
    http = service_http_client()  # one pool for every call to a peer, closed on shutdown
    verifier = verifier or JwksVerifier(identity_jwks(http, settings.identity_url))
    store = service_persistence(settings, schema_sql(), PostgresTelemetryUnitOfWork,
                                uow_factory=uow_factory, db=db, bus=bus)
    relay, bus = store.relay, store.bus
    devices = devices or HttpDeviceDirectory(http, settings.devices_url,
                                             settings.service_token.get_secret_value())
    service = TelemetryService(store.uow_factory, devices, on_commit=store.on_commit)

    background = []
    if relay is not None:
        background = [
            ("outbox-relay", relay.run),
            # Only deletions matter here: they drop the device's readings.
            ("device-events", lambda: bus.consume("device", DEVICES_CONSUMER, service.on_device_event,
                                                  filter_event=DeviceChanged.name_of("deleted"))),
        ]
    app = build_service_app("HomeSense telemetry", settings, db=store.db, bus=bus, background=background,
                            routers=[build_router(service)], on_close=[http.aclose],
                            verifier=verifier)
    app.state.service = service
    return app
