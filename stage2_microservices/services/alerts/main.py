"""Composition root of the alerts service: `uvicorn ...alerts.main:create_app --factory`."""

import asyncio

from fastapi import FastAPI

from stage2_microservices.common.app import build_service_app, service_http_client, service_persistence
from stage2_microservices.common.auth import JwksVerifier, identity_jwks
from stage2_microservices.common.db import Database
from stage2_microservices.common.devices_client import DeviceDirectory, HttpDeviceDirectory
from stage2_microservices.common.messaging import Bus
from stage2_microservices.common.web import configure_logging

from .postgres import PostgresAlertsUnitOfWork, schema_sql
from .routes import build_router
from .service import DEVICES_CONSUMER, READINGS_CONSUMER, AlertService
from .settings import AlertsSettings


def create_app(settings: AlertsSettings | None = None, *, uow_factory=None,
               devices: DeviceDirectory | None = None, db: Database | None = None,
               bus: Bus | None = None, verifier: JwksVerifier | None = None) -> FastAPI:
    """Wire the service; pass uow_factory and devices (fakes) to run without Postgres, NATS, devices."""
    settings = settings or AlertsSettings()
    configure_logging(settings.service_name, settings.log_level)
    http = service_http_client()  # one pool for every call to a peer, closed on shutdown
    verifier = verifier or JwksVerifier(identity_jwks(http, settings.identity_url))
    store = service_persistence(settings, schema_sql(), PostgresAlertsUnitOfWork,
                                uow_factory=uow_factory, db=db, bus=bus)
    relay, bus = store.relay, store.bus
    devices = devices or HttpDeviceDirectory(http, settings.devices_url,
                                             settings.service_token.get_secret_value())
    service = AlertService(store.uow_factory, devices, on_commit=store.on_commit)

    async def scheduler():
        """Persisted due rows make this survive restarts: whoever runs next picks them up."""
        while True:
            await service.escalate_due()
            await asyncio.sleep(settings.escalation_poll_seconds)

    background = []
    if relay is not None:
        background = [
            ("outbox-relay", relay.run),
            ("reading-events", lambda: bus.consume("reading", READINGS_CONSUMER, service.on_readings)),
            ("device-events", lambda: bus.consume("device", DEVICES_CONSUMER, service.on_device)),
            ("escalation", scheduler),
        ]
    app = build_service_app("HomeSense alerts", settings, db=store.db, bus=bus, background=background,
                            routers=[build_router(service)], on_close=[http.aclose],
                            verifier=verifier)
    app.state.service = service
    return app
