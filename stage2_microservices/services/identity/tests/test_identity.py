"""Identity: API over the in-memory fake, the shared signing key, and the Postgres repository."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from homesense_core.clock import utcnow
from homesense_core.model import User
from homesense_core.problems import Conflict
from homesense_core.tokens import SigningKey, TokenVerifier

from stage2_microservices.services.identity.keys import KEY_FILE, load_or_create_key
from stage2_microservices.services.identity.main import create_app
from stage2_microservices.services.identity.memory import InMemoryIdentityUnitOfWork, memory_state
from stage2_microservices.services.identity.postgres import PostgresIdentityUnitOfWork, schema_sql
from stage2_microservices.services.identity.settings import IdentitySettings
from stage2_microservices.testing.support import units_of_work

KEY = SigningKey.generate()


@pytest.fixture
def client(tmp_path):
    state = memory_state()
    settings = IdentitySettings(database_url="postgresql://unused/x", data_dir=tmp_path)
    with TestClient(create_app(settings, uow_factory=lambda: InMemoryIdentityUnitOfWork(state), key=KEY)) as c:
        yield c


def test_signup_login_and_me(client):
    r = client.post("/users", json={"username": "ada_1", "password": "correct horse"})
    assert r.status_code == 201 and set(r.json()) == {"id", "username", "created_at"}
    token = client.post("/auth/token", json={"username": "ada_1", "password": "correct horse",
                                             "expires_in": 60}).json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 60
    claims = TokenVerifier(client.get("/.well-known/jwks.json").json()).verify(token["access_token"])
    assert claims.user_id == r.json()["id"]
    me = client.get("/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.json() == r.json()
    # Identity verifies the token itself: the user header alone proves nothing.
    spoofed = client.get("/me", headers={"x-homesense-user-id": claims.user_id})
    assert spoofed.status_code == 401 and spoofed.json()["type"] == "/problems/unauthorized"


def test_taken_username_is_409(client):
    client.post("/users", json={"username": "ada_2", "password": "password1"})
    r = client.post("/users", json={"username": "ada_2", "password": "password2"})
    assert r.status_code == 409 and r.json()["type"] == "/problems/conflict"


def test_wrong_password_and_unknown_user_get_the_same_401(client):
    client.post("/users", json={"username": "ada_3", "password": "password1"})
    wrong = client.post("/auth/token", json={"username": "ada_3", "password": "nope-nope"})
    unknown = client.post("/auth/token", json={"username": "nobody", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_invalid_signup_is_422_with_fields(client):
    r = client.post("/users", json={"username": "A", "password": "short"})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"username", "password"}


def test_me_without_gateway_header_is_401(client):
    assert client.get("/me").status_code == 401


def test_replicas_share_one_signing_key(tmp_path):
    barrier = threading.Barrier(4)

    def load():
        barrier.wait()
        return load_or_create_key(tmp_path).kid

    with ThreadPoolExecutor(4) as pool:
        kids = set(pool.map(lambda _: load(), range(4)))
    assert len(kids) == 1
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o077 == 0  # private key not world-readable


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["memory", "postgres"])
async def test_user_repository_contract(kind, request):
    async with units_of_work(kind, request, InMemoryIdentityUnitOfWork, memory_state(),
                             PostgresIdentityUnitOfWork, schema_sql()) as uow:
        user = User("01USER", "grace", "scrypt$x", utcnow())
        async with uow() as u:
            await u.users.add(user)
            await u.commit()
        async with uow() as u:
            assert await u.users.by_username("grace") == user
            assert await u.users.by_id("01USER") == user
            assert await u.users.by_id("nobody") is None
            with pytest.raises(Conflict):
                await u.users.add(User("01OTHER", "grace", "scrypt$y", utcnow()))


def test_pages_use_the_host_and_scheme_the_gateway_passes_on(client):
    spec = client.get("/openapi.yaml", headers={"host": "gw.example.test:8443", "x-forwarded-proto": "https"})
    assert spec.status_code == 200 and spec.headers["content-type"].startswith("application/yaml")
    assert "  - url: https://gw.example.test:8443\n" in spec.content.decode()
    dashboard = client.get("/dashboard", headers={"host": "127.0.0.1:8000"})
    assert '"wsUrl": "ws://127.0.0.1:8000/ws"' in dashboard.content.decode()
    assert client.get("/docs/swagger-ui.css").headers["content-type"].startswith("text/css")
    missing = client.get("/docs/missing.js")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_five_wrong_passwords_lock_the_username_with_429_and_retry_after(client):
    client.post("/users", json={"username": "ada_9", "password": "correct horse"})
    for _ in range(5):
        assert client.post("/auth/token", json={"username": "ada_9", "password": "wrong pass"}).status_code == 401
    locked = client.post("/auth/token", json={"username": "ada_9", "password": "correct horse"})
    assert locked.status_code == 429 and locked.headers["retry-after"] == "1"
    assert locked.json()["type"] == "/problems/rate-limited"
