"""The built-in API Gateway authorizer: RS256 JWT checked against our own JWKS."""

from chalice import AuthResponse, Blueprint

from homesense_core.problems import ProblemError
from homesense_core.tokens import bearer_token

from .. import container, logs
from ..services.accounts import verify

auth = Blueprint(__name__)


def deny_policy(method_arn: str) -> dict:
    """An explicit Deny: API Gateway's ACCESS_DENIED, which our gateway response renders as 401."""
    return {"principalId": "anonymous",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": method_arn}]}}


# ttl_seconds=0: a cached Allow would outlive an expired token by up to the cache TTL.
@auth.authorizer(name="jwt_auth", ttl_seconds=0)
def jwt_auth(auth_request):
    """Allow every route to a valid token's user; Deny (a 401 problem) for anything else."""
    try:
        claims = verify(container.get(), bearer_token(auth_request.token))
    except ProblemError as exc:
        # A Deny, not `raise Exception("Unauthorized")`: a bad token is the caller's mistake, not
        # a function error (no Errors metric, and emulators do not recycle the worker).
        logs.record(authorizer="deny", reason=exc.detail)
        return deny_policy(auth_request.method_arn)
    logs.record(authorizer="allow", user_id=claims.user_id)
    return AuthResponse(routes=["*"], principal_id=claims.user_id,
                        context={"user_id": claims.user_id, "username": claims.username})
