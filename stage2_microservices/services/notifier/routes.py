"""The WebSocket route: verify before the upgrade, then ping/pong until the client leaves."""

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from homesense_core.problems import ProblemError
from homesense_core.tokens import bearer_token

from .auth import JwksVerifier
from .hub import Hub, WebSocketConnection
from .service import NotifierService


def build_router(service: NotifierService, hub: Hub, verifier: JwksVerifier) -> APIRouter:
    """GET /ws?token=..."""
    router = APIRouter()

    @router.websocket("/ws")
    async def ws(websocket: WebSocket):
        """Push channel; the token (?token=, or a Bearer header) is verified here, whoever connects."""
        try:
            token = websocket.query_params.get("token")
            if token is None:
                token = bearer_token(websocket.headers.get("authorization"))
            user_id = (await verifier.verify(token)).user_id
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
