"""Users, tokens and the JWKS."""

from homesense_core.ids import new_id
from homesense_core.model import User, user_to_json
from homesense_core.passwords import check_credentials, hash_password
from homesense_core.problems import account_gone
from homesense_core.tokens import Claims, TokenIssuer, TokenVerifier
from homesense_core.validation import parse_new_user, parse_token_request

from ..container import Dependencies

_verifiers: dict[str, TokenVerifier] = {}


def register_user(deps: Dependencies, body: dict) -> dict:
    """Create a user; Conflict when the username is taken."""
    spec = parse_new_user(body)
    user = User(new_id(), spec.username, hash_password(spec.password), deps.clock())
    deps.users.add(user)
    return user_to_json(user)


def issue_token(deps: Dependencies, body: dict) -> dict:
    """An access token for valid credentials; one answer for unknown user and wrong password."""
    request = parse_token_request(body)
    user = deps.users.get_by_username(request.username)
    user = check_credentials(user, request.password)
    token = TokenIssuer(deps.keys.get()).issue(user.id, user.username, request.expires_in, deps.clock())
    return {"access_token": token, "token_type": "Bearer", "expires_in": request.expires_in}


def me(deps: Dependencies, user_id: str) -> dict:
    """The caller's profile."""
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
