"""Shared fixtures: a controllable clock, both storage adapters, a test app."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from homesense_core.tokens import SigningKey

from stage1_monolith.adapters.database import make_engine, migrate
from stage1_monolith.adapters.memory import MemoryUnitOfWorkFactory
from stage1_monolith.adapters.sql import SqlUnitOfWorkFactory
from stage1_monolith.hub import Hub
from stage1_monolith.settings import Settings
from stage1_monolith.web.app import create_app


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def unique(prefix: str = "u") -> str:
    """A fresh name per test, so runs never collide."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def memory_uow() -> MemoryUnitOfWorkFactory:
    return MemoryUnitOfWorkFactory()


@pytest.fixture
def sqlite_uow(tmp_path):
    engine = make_engine(tmp_path / "test.sqlite3")
    migrate(engine)
    yield SqlUnitOfWorkFactory(engine)
    engine.dispose()


@pytest.fixture(params=["memory", "sqlite"])
def any_uow(request):
    """Both storage adapters: a test using this runs once against each."""
    return request.getfixturevalue(f"{request.param}_uow")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path)


class RecordingHub(Hub):
    """A hub that also remembers what was published."""

    def __init__(self):
        super().__init__()
        self.published: list[tuple[str, dict]] = []

    def publish(self, user_id: str, message: dict) -> int:
        self.published.append((user_id, message))
        return super().publish(user_id, message)


@pytest.fixture
def hub() -> RecordingHub:
    return RecordingHub()


@pytest.fixture
def app(settings, memory_uow, signing_key, clock, hub):
    return create_app(settings, uow=memory_uow, signing_key=signing_key, clock=clock, hub=hub)


@pytest.fixture
def client(app):
    return app.test_client()


def signup(client, username: str | None = None, password: str = "correct-horse") -> dict:
    """Register a user and return {"id", "username", "token", "headers"}."""
    username = username or unique()
    created = client.post("/users", json={"username": username, "password": password})
    assert created.status_code == 201, created.get_json()
    token = client.post("/auth/token", json={"username": username, "password": password}).get_json()["access_token"]
    return {"id": created.get_json()["id"], "username": username, "token": token,
            "headers": {"Authorization": f"Bearer {token}"}}
