"""Users and tokens: register, log in, the caller's own account (and the keys that sign tokens)."""

from homesense_core.ids import new_id
from homesense_core.model import User, user_to_json
from homesense_core.passwords import check_credentials, hash_password
from homesense_core.problems import Unauthorized, account_gone
from homesense_core.throttle import AccountThrottle
from homesense_core.tokens import Claims, TokenIssuer, TokenVerifier
from homesense_core.validation import parse_new_user, parse_token_request

# Stage 3 passes its Dependencies: no transactions, so every write is conditional on what it read.
from ..container import Dependencies

_verifiers: dict[str, TokenVerifier] = {}


def _throttle(deps: Dependencies) -> AccountThrottle:
    return AccountThrottle(deps.throttle, deps.settings.throttle)


def register_user(deps: Dependencies, body: dict, client: str = "") -> dict:
    """Create a user; Conflict when the username is taken; 429 past the client's budget."""
    spec = parse_new_user(body)
    _throttle(deps).check_registration(client, deps.clock().timestamp())
    password_hash = hash_password(spec.password)
    user = User(new_id(), spec.username, password_hash, deps.clock())
    deps.users.add(user)  # conditional on the username: Conflict when it is taken
    return user_to_json(user)


def issue_token(deps: Dependencies, body: dict, client: str = "") -> dict:
    """An access token for valid credentials; one answer for unknown user and wrong password;
    429 + Retry-After while the username or the client is locked out (checked first)."""
    request = parse_token_request(body)
    throttle = _throttle(deps)
    throttle.check_login(request.username, client, deps.clock().timestamp())
    user = deps.users.get_by_username(request.username)
    try:
        user = check_credentials(user, request.password)
    except Unauthorized:
        throttle.login_failed(request.username, client, deps.clock().timestamp())
        raise
    throttle.login_succeeded(request.username, deps.clock().timestamp())
    token = TokenIssuer(deps.keys.get()).issue(user.id, user.username, request.expires_in, deps.clock())
    return {"access_token": token, "token_type": "Bearer", "expires_in": request.expires_in}


def me(deps: Dependencies, user_id: str) -> dict:
    """The caller's own account."""
    user = deps.users.get(user_id)
    if user is None:
        raise account_gone()
    return user_to_json(user)


def jwks(deps: Dependencies) -> dict:
    """The public key set that verifies our tokens."""
    return deps.keys.get().jwks()


def verify(deps: Dependencies, token: str) -> Claims:
    """Claims of a valid token; Unauthorized otherwise."""
    key = deps.keys.get()
    verifier = _verifiers.get(key.kid)
    if verifier is None:
        verifier = _verifiers[key.kid] = TokenVerifier(key.jwks())
    return verifier.verify(token, now=deps.clock())
