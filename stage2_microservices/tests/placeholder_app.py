"""A stand-in for any stage-2 service, so gateway tests need no real service code.

It answers /healthz, serves a JWKS and issues tokens (POST /auth/token?sub=...) when it plays
identity, echoes what it received on every other path, and echoes WebSocket messages on /ws.
"""
from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse

from homesense_core.clock import utcnow
from homesense_core.tokens import SigningKey, TokenIssuer


def _signing_key(data_dir: Path) -> SigningKey:
    path = data_dir / "placeholder-signing-key.pem"
    if path.exists():
        return SigningKey.from_pem(path.read_text())
    key = SigningKey.generate()
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(key.private_pem())
    return key


def create_app() -> FastAPI:
    """App factory (uvicorn --factory); reads HOMESENSE_SERVICE_NAME and HOMESENSE_DATA_DIR."""
    name = os.environ["HOMESENSE_SERVICE_NAME"]
    data_dir = Path(os.environ.get("HOMESENSE_DATA_DIR") or ".")
    # No FastAPI docs routes: /docs and /openapi.yaml must echo like any other path.
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    state: dict = {}

    def key() -> SigningKey:
        if "key" not in state:
            state["key"] = _signing_key(data_dir)
        return state["key"]

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "service": name}

    @app.get("/.well-known/jwks.json")
    def jwks():
        return key().jwks()

    @app.post("/auth/token")
    def token(sub: str = "user-1", expires_in: int = 600):
        issued = TokenIssuer(key()).issue(sub, sub, expires_in, utcnow())
        return {"access_token": issued, "token_type": "Bearer", "expires_in": expires_in}

    @app.websocket("/ws")
    async def ws(socket: WebSocket):
        await socket.accept()
        await socket.send_json({"service": name, "user": socket.headers.get("x-homesense-user-id")})
        async for message in socket.iter_text():
            await socket.send_text(message)

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PATCH", "DELETE", "PUT"])
    async def echo(path: str, request: Request):
        body = await request.body()
        return JSONResponse({"service": name, "path": "/" + path, "method": request.method,
                             "user": request.headers.get("x-homesense-user-id"),
                             "request_id": request.headers.get("x-request-id"),
                             "body_bytes": len(body)})

    return app
