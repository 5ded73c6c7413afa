"""The shared service app: startup order, shutdown in reverse, health checks from db and bus."""

import asyncio

import pytest
from fastapi.testclient import TestClient

from stage2_microservices.common.app import build_service_app
from stage2_microservices.common.settings import BaseServiceSettings

pytestmark = pytest.mark.anyio
SETTINGS = BaseServiceSettings(service_name="test")


class FakeDatabase:
    """Records open/close; ping answers `up`."""

    def __init__(self, log: list, up: bool = True):
        self.log, self.up = log, up

    async def open(self):
        self.log.append("db.open")

    async def close(self):
        self.log.append("db.close")

    async def ping(self) -> bool:
        return self.up


class FakeBus:
    """Records connect/close; connect raises when told to."""

    def __init__(self, log: list, fail: bool = False):
        self.log, self.fail, self.is_connected = log, fail, False

    async def connect(self):
        if self.fail:
            raise ConnectionError("nats down")
        self.log.append("bus.connect")
        self.is_connected = True

    async def close(self):
        self.log.append("bus.close")


def _recorder(log: list, entry: str):
    async def record():
        log.append(entry)
    return record


async def test_startup_runs_in_order_and_shutdown_undoes_it_in_reverse():
    log = []
    task_started = asyncio.Event()

    async def worker():
        log.append("task.start")
        task_started.set()
        try:
            await asyncio.Event().wait()
        finally:
            log.append("task.stop")

    app = build_service_app("t", SETTINGS, db=FakeDatabase(log), bus=FakeBus(log),
                            on_start=[_recorder(log, "on_start")], background=[("worker", worker)],
                            on_close=[_recorder(log, "close.1"), _recorder(log, "close.2")])
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(task_started.wait(), 5)
    assert log == ["db.open", "bus.connect", "on_start", "task.start",
                   "task.stop", "bus.close", "db.close", "close.1", "close.2"]


async def test_a_failed_startup_closes_what_had_already_opened():
    log = []
    app = build_service_app("t", SETTINGS, db=FakeDatabase(log), bus=FakeBus(log, fail=True),
                            on_start=[_recorder(log, "on_start")], on_close=[_recorder(log, "close")])
    with pytest.raises(ConnectionError):
        async with app.router.lifespan_context(app):
            pass
    assert log == ["db.open", "db.close", "close"]


def test_healthz_checks_exactly_the_dependencies_the_service_has():
    app = build_service_app("t", SETTINGS, db=FakeDatabase([], up=False), bus=FakeBus([]))
    with TestClient(app) as client:
        reply = client.get("/healthz")
    assert reply.status_code == 503
    assert reply.json()["checks"] == {"database": False, "nats": True}
    with TestClient(build_service_app("t", SETTINGS)) as client:
        reply = client.get("/healthz")
        assert (reply.status_code, reply.json()["checks"]) == (200, {})
        assert client.get("/health").json()["stage"] == "microservices"


async def test_head_is_answered_by_the_get_route_and_the_server_keeps_its_head_scope():
    from fastapi import APIRouter

    router, seen = APIRouter(), []

    @router.get("/things")
    async def things():
        seen.append("GET")
        return {"items": []}

    app = build_service_app("t", SETTINGS, routers=[router])
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "HEAD",
             "scheme": "http", "path": "/things", "raw_path": b"/things", "root_path": "", "query_string": b"",
             "headers": [(b"host", b"t")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)  # no db or bus: nothing for a lifespan to start
    assert sent[0]["status"] == 200 and seen == ["GET"]
    assert scope["method"] == "HEAD"  # uvicorn reads its own scope: it sends the headers only
