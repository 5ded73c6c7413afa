"""HTTP routes of the identity service: parse, call the service, render."""

from fastapi import APIRouter, Request

from stage2_microservices.common.web import caller_id, json_response, read_json

from .service import IdentityService


def client_address(request: Request) -> str:
    """The caller's address for throttling: Envoy (use_remote_address) appends the TCP peer to
    X-Forwarded-For, so its last entry is the one no client can choose; else the direct peer."""
    forwarded = request.headers.get("x-forwarded-for", "")
    last = forwarded.rsplit(",", 1)[-1].strip()
    return last or (request.client.host if request.client else "")


def build_router(service: IdentityService) -> APIRouter:
    """POST /users, POST /auth/token, GET /me, GET /.well-known/jwks.json."""
    router = APIRouter()

    @router.post("/users")
    async def register(request: Request):
        """Create an account."""
        return json_response(await service.register(await read_json(request), client_address(request)), 201)

    @router.post("/auth/token")
    async def token(request: Request):
        """Exchange username and password for an access token."""
        return json_response(await service.issue_token(await read_json(request), client_address(request)))

    @router.get("/me")
    async def me(request: Request):
        """The caller's account."""
        return json_response(await service.me(await caller_id(request)))

    @router.get("/.well-known/jwks.json")
    async def jwks():
        """Public signing keys (Envoy jwt_authn and the notifier fetch these)."""
        return json_response(service.jwks(), headers={"Cache-Control": "public, max-age=300"})

    return router
