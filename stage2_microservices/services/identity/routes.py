"""HTTP routes of the identity service: parse, call the service, render."""

from fastapi import APIRouter, Request, Response

from homesense_core import pages
from homesense_core.problems import NotFound

from stage2_microservices.common.web import caller_id, json_response, read_json

from .service import IdentityService


def client_address(request: Request) -> str:
    """The caller's address for throttling: Envoy (use_remote_address) appends the TCP peer to
    X-Forwarded-For, so its last entry is the one no client can choose; else the direct peer."""
    forwarded = request.headers.get("x-forwarded-for", "")
    last = forwarded.rsplit(",", 1)[-1].strip()
    return last or (request.client.host if request.client else "")


def build_router(service: IdentityService) -> APIRouter:
    """POST /users, POST /auth/token, GET /me, GET /.well-known/jwks.json, and the pages of homesense_core.pages."""
    router = APIRouter()

    @router.post("/users")
    async def register(request: Request):
        """Create an account."""
        return json_response(await service.register_user(await read_json(request), client_address(request)), 201)

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

    async def page(request: Request):
        """The API explorer, the contract and the dashboard (homesense_core.pages), via the gateway."""
        # Envoy keeps the client's Host and says which scheme the client used.
        scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
        base_url = pages.base_url_from(scheme, request.headers.get("host", ""))
        found = pages.page(request.url.path, base_url, pages.ws_url_for(base_url))
        if found is None:
            raise NotFound()
        return Response(found.body, headers=found.all_headers())

    for route in pages.ROUTES:
        router.add_api_route(route, page, methods=["GET"], include_in_schema=False)

    return router
