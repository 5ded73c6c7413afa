"""The WebSocket route: verify before the upgrade, then ping/pong until the client leaves."""

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from homesense_core.ids import is_valid_id
from homesense_core.problems import ProblemError

from stage2_microservices.common.web import USER_HEADER

from .auth import JwksVerifier
from .hub import Hub, WebSocketConnection
from .service import NotifierService


def build_router(service: NotifierService, hub: Hub, verifier: JwksVerifier) -> APIRouter:
    """GET /ws?token=..."""
    router = APIRouter()

    @router.websocket("/ws")
    async def ws(websocket: WebSocket):
        """Push channel; ?token= is verified here too; without it only the gateway's user header counts."""
        token = websocket.query_params.get("token")
        gateway_user = websocket.headers.get(USER_HEADER)
        try:
            if token is not None or not is_valid_id(gateway_user):
                user_id = (await verifier.verify(token)).user_id
            else:
                # The gateway verified the token and (forward: false) removed it from the query.
                user_id = gateway_user
        except ProblemError:
            await websocket.close(code=1008)  # before accept(): the server answers HTTP 403
            return
        await websocket.accept()
        conn = WebSocketConnection(websocket)
        hub.add(user_id, conn)
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                reply = service.reply_to(message.get("text") or message.get("bytes") or "")
                if reply is not None:
                    await conn.send(reply)
        except WebSocketDisconnect:
            pass
        finally:
            hub.remove(user_id, conn)

    return router
