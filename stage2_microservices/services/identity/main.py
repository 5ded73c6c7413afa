"""Composition root of the identity service: `uvicorn ...identity.main:create_app --factory`."""

from contextlib import asynccontextmanager

from fastapi import FastAPI

from homesense_core.tokens import SigningKey

from stage2_microservices.common.db import Database
from stage2_microservices.common.runtime import health_router
from stage2_microservices.common.uow import COMMON_SCHEMA
from stage2_microservices.common.web import configure_logging, install_edges

from .keys import load_or_create_key
from .repository import PostgresIdentityUnitOfWork, schema_sql
from .routes import build_router
from .service import IdentityService
from .settings import IdentitySettings


def create_app(settings: IdentitySettings | None = None, *, uow_factory=None,
               db: Database | None = None, key: SigningKey | None = None) -> FastAPI:
    """Wire the service; pass uow_factory and key to run without Postgres and a data dir."""
    settings = settings or IdentitySettings()
    configure_logging(settings.service_name, settings.log_level)
    if uow_factory is None:
        db = db or Database(settings.database_url, [COMMON_SCHEMA, schema_sql()], settings.db_pool_max)
        uow_factory = lambda: PostgresIdentityUnitOfWork(db)  # noqa: E731
    # Reading (or once creating) the key is file I/O, so it happens here, not at import.
    service = IdentityService(uow_factory, key or load_or_create_key(settings.data_dir))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if db is not None:
            await db.open()
        try:
            yield
        finally:
            if db is not None:
                await db.close()

    app = FastAPI(title="HomeSense identity", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_edges(app, settings.cors_origins)
    app.include_router(build_router(service))
    app.include_router(health_router({"database": db.ping} if db is not None else {}))
    app.state.service = service
    return app
