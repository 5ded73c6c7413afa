"""Users, tokens, the caller's account and the JWKS."""
from flask import Blueprint, request

from stage1_monolith.services import accounts
from stage1_monolith.web.deps import authenticate, deps
from stage1_monolith.web.responses import json_body, json_response

bp = Blueprint("identity", __name__)


@bp.post("/users")
def register():
    d = deps()
    return json_response(accounts.register_user(d.uow, json_body(), d.clock, d.throttle,
                                                request.remote_addr or ""), 201)


@bp.post("/auth/token")
def token():
    d = deps()
    return json_response(accounts.issue_token(d.uow, d.issuer, json_body(), d.clock, d.throttle,
                                              request.remote_addr or ""))


@bp.get("/me")
def me():
    user_id = authenticate()
    return json_response(accounts.me(deps().uow, user_id))


@bp.get("/.well-known/jwks.json")
def jwks():
    return json_response(deps().signing_key.jwks())
