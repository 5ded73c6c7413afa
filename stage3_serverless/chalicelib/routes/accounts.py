"""/health, /.well-known/jwks.json, /users, /auth/token, /me."""

from chalice import Blueprint, Response

from homesense_core import health_body

from .. import container
from ..services import accounts
from ..web import ANY_CONTENT, caller, handles_problems, json_body
from .auth import jwt_auth

bp = Blueprint(__name__)


def source_ip(request) -> str:
    """The client address API Gateway saw (requestContext.identity.sourceIp)."""
    return str(((request.context or {}).get("identity") or {}).get("sourceIp") or "")


@bp.route("/health", methods=["GET"], content_types=ANY_CONTENT)
@handles_problems
def health():
    return health_body("serverless")


@bp.route("/.well-known/jwks.json", methods=["GET"], content_types=ANY_CONTENT)
@handles_problems
def jwks():
    return accounts.jwks(container.get())


@bp.route("/users", methods=["POST"], content_types=ANY_CONTENT)
@handles_problems
def create_user():
    user = accounts.register_user(container.get(), json_body(bp.current_request), source_ip(bp.current_request))
    return Response(body=user, status_code=201)


@bp.route("/auth/token", methods=["POST"], content_types=ANY_CONTENT)
@handles_problems
def token():
    return accounts.issue_token(container.get(), json_body(bp.current_request), source_ip(bp.current_request))


@bp.route("/me", methods=["GET"], authorizer=jwt_auth, content_types=ANY_CONTENT)
@handles_problems
def me():
    user_id, _ = caller(bp.current_request)
    return accounts.me(container.get(), user_id)
