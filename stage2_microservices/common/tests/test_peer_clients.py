"""The httpx calls to peers (devices' /internal route, identity's JWKS) against the real peer apps."""

import httpx
import pytest

from homesense_core.problems import ServiceUnavailable
from homesense_core.tokens import SigningKey

from stage2_microservices.common.app import service_http_client
from stage2_microservices.common.auth import identity_jwks
from stage2_microservices.common.devices_client import HttpDeviceDirectory
from stage2_microservices.services.devices.main import create_app as devices_app
from stage2_microservices.services.devices.memory import InMemoryDevicesUnitOfWork, memory_state
from stage2_microservices.services.devices.settings import DevicesSettings
from stage2_microservices.services.identity.main import create_app as identity_app
from stage2_microservices.services.identity.memory import InMemoryIdentityUnitOfWork
from stage2_microservices.services.identity.memory import memory_state as identity_state
from stage2_microservices.services.identity.settings import IdentitySettings
from stage2_microservices.testing.support import AUTH_SETTINGS, bearer, free_port, tokens_verifier

pytestmark = pytest.mark.anyio
TOKEN = AUTH_SETTINGS["service_token"]


def _over(app) -> httpx.AsyncClient:
    """A client whose requests reach app in-process (the peer's own routes, no socket)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://peer")


@pytest.fixture
def devices():
    settings = DevicesSettings(database_url="postgresql://unused/x", nats_url="nats://127.0.0.1:1",
                               **AUTH_SETTINGS)
    state = memory_state()
    return devices_app(settings, uow_factory=lambda: InMemoryDevicesUnitOfWork(state),
                       verifier=tokens_verifier())


async def test_device_directory_reads_a_device_and_none_for_an_unknown_one(devices):
    async with _over(devices) as http:
        created = (await http.post("/devices", json={"name": "Hall", "kind": "temperature"},
                                   headers=bearer("alice01"))).json()
        directory = HttpDeviceDirectory(http, "http://peer/", TOKEN)
        device = await directory.get(created["id"])
        assert (device.id, device.owner_id, device.name) == (created["id"], "alice01", "Hall")
        assert await directory.owned("bob01", created["id"]) is None
        assert await directory.get("01J00000000000000000000000") is None


async def test_device_directory_is_unavailable_on_a_refusal_or_no_answer(devices):
    async with _over(devices) as http:
        with pytest.raises(ServiceUnavailable):  # 401: a wrong service token is not "no such device"
            await HttpDeviceDirectory(http, "http://peer", "wrong-token-0123456789").get("x")
    async with service_http_client(timeout=2) as http:
        with pytest.raises(ServiceUnavailable):
            await HttpDeviceDirectory(http, f"http://127.0.0.1:{free_port()}", TOKEN).get("x")


async def test_identity_jwks_fetches_the_key_set_or_is_unavailable(tmp_path):
    key = SigningKey.generate()
    state = identity_state()
    app = identity_app(IdentitySettings(database_url="postgresql://unused/x", data_dir=tmp_path),
                       uow_factory=lambda: InMemoryIdentityUnitOfWork(state), key=key)
    async with _over(app) as http:
        assert await identity_jwks(http, "http://peer/")() == key.jwks()
        with pytest.raises(ServiceUnavailable):  # a 404 is no key set
            await identity_jwks(http, "http://peer/nowhere")()
    async with service_http_client(timeout=2) as http:
        with pytest.raises(ServiceUnavailable):
            await identity_jwks(http, f"http://127.0.0.1:{free_port()}")()
