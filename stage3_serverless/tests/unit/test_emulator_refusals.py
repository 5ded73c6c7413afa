"""The emulator's HTTP server (hypercorn) refuses unparseable or oversized requests as problem+json."""

import asyncio
import json

import h11
import pytest
from hypercorn.protocol.h11 import H11Protocol

from homesense_core.problems import protocol_problem
from stage3_serverless.infra.ministack_main import install_problem_refusals


class _Config:
    def response_headers(self, _protocol):
        return []


class _Protocol:
    """Just what _send_error_response touches: the config and the h11 event sink."""

    def __init__(self):
        self.config, self.events = _Config(), []

    async def _send_h11_event(self, event):
        self.events.append(event)


@pytest.mark.parametrize("status", [400, 431])
def test_a_refusal_of_the_emulators_server_is_the_cores_protocol_problem(monkeypatch, status):
    monkeypatch.setattr(H11Protocol, "_send_error_response", H11Protocol._send_error_response)  # restored after
    install_problem_refusals()
    protocol = _Protocol()
    asyncio.run(H11Protocol._send_error_response(protocol, status))
    response, data, end = protocol.events
    headers = {k.decode(): v.decode() for k, v in response.headers}
    assert response.status_code == status and isinstance(end, h11.EndOfMessage)
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["content-length"]) == len(data.data) and headers["x-request-id"]
    assert json.loads(data.data) == protocol_problem(status)
