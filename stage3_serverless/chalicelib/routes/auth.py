"""The built-in API Gateway authorizer: RS256 JWT checked against our own JWKS."""

import logging

from chalice import AuthResponse, Blueprint

from homesense_core.problems import ProblemError
from homesense_core.tokens import bearer_token

from .. import container
from ..services.accounts import verify

log = logging.getLogger("homesense")

auth = Blueprint(__name__)


# ttl_seconds=0: a cached Allow would outlive an expired token by up to the cache TTL.
@auth.authorizer(name="jwt_auth", ttl_seconds=0)
def jwt_auth(auth_request):
    """Allow every route to a valid token's user; anything else is API Gateway's 401."""
    try:
        claims = verify(container.get(), bearer_token(auth_request.token))
    except ProblemError as exc:
        log.info("token refused: %s", exc.detail)
        # This exact message makes API Gateway answer 401 (its UNAUTHORIZED gateway response).
        raise Exception("Unauthorized") from exc
    return AuthResponse(routes=["*"], principal_id=claims.user_id,
                        context={"user_id": claims.user_id, "username": claims.username})
