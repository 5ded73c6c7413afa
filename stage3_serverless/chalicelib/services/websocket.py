"""WebSocket push channel: authenticate on connect, answer pings, forget on disconnect."""

import json

from homesense_core.events import client_reply
from homesense_core.problems import Unauthorized

from ..container import Dependencies
from ..ports import Connection, ConnectionGone
from .accounts import verify


def callback_endpoint(deps: Dependencies, domain_name: str, stage: str) -> str:
    """Where post_to_connection must go: configured, or the API's own domain and stage."""
    return deps.settings.websocket_endpoint or f"https://{domain_name}/{stage}"


def connect(deps: Dependencies, connection_id: str, token: str | None, endpoint: str) -> int:
    """200 and the connection remembered, or 401 (refused before the upgrade)."""
    try:
        claims = verify(deps, token or "")
    except Unauthorized:
        return 401
    deps.connections.add(Connection(connection_id, claims.user_id, endpoint), deps.clock())
    return 200


def message(deps: Dependencies, connection_id: str, endpoint: str, body: str) -> dict | None:
    """Reply to a ping with a pong through the callback API; anything else is ignored."""
    reply = client_reply(body)
    if reply is None:
        return None
    try:
        deps.poster.post(Connection(connection_id, "", endpoint), json.dumps(reply).encode("utf-8"))
    except ConnectionGone:
        deps.connections.remove(connection_id)
    return reply


def disconnect(deps: Dependencies, connection_id: str) -> None:
    """Forget the connection."""
    deps.connections.remove(connection_id)
