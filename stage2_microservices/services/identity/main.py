"""Composition root of the identity service: `uvicorn ...identity.main:create_app --factory`."""

from fastapi import FastAPI

from homesense_core.tokens import SigningKey

from stage2_microservices.common.app import build_service_app, service_database
from stage2_microservices.common.auth import JwksVerifier, static_jwks
from stage2_microservices.common.db import Database
from stage2_microservices.common.web import configure_logging

from .keys import load_or_create_key
from .postgres import PostgresIdentityUnitOfWork, schema_sql
from .routes import build_router
from .service import IdentityService
from .settings import IdentitySettings


def create_app(settings: IdentitySettings | None = None, *, uow_factory=None,
               db: Database | None = None, key: SigningKey | None = None) -> FastAPI:
    """Wire the service; pass uow_factory and key to run without Postgres and a data dir."""
    settings = settings or IdentitySettings()
    configure_logging(settings.service_name, settings.log_level)
    if uow_factory is None:
        db = db or service_database(settings, schema_sql())
        uow_factory = lambda: PostgresIdentityUnitOfWork(db)  # noqa: E731
    # Reading (or once creating) the key is file I/O, so it happens here, not at import.
    key = key or load_or_create_key(settings.data_dir)
    service = IdentityService(uow_factory, key, throttle=settings.throttle_policy())

    # No bus: identity publishes no events; the gateway and the notifier fetch its JWKS over HTTP.
    app = build_service_app("HomeSense identity", settings, db=db, routers=[build_router(service)],
                            verifier=JwksVerifier(static_jwks(key.jwks())))
    app.state.service = service
    return app
