"""Users and tokens: register, log in, the caller's own account."""

from homesense_core.ids import new_id
from homesense_core.model import User, user_to_json
from homesense_core.passwords import check_credentials, hash_password
from homesense_core.problems import Unauthorized, account_gone, username_taken
from homesense_core.throttle import AccountThrottle
from homesense_core.tokens import TokenIssuer
from homesense_core.validation import parse_new_user, parse_token_request

# Stage 1 passes a unit-of-work factory: each use case is one SQLite transaction.
from .common import Clock, UnitOfWorkFactory


def register_user(uow: UnitOfWorkFactory, body: dict, clock: Clock,
                  throttle: AccountThrottle | None = None, client: str = "") -> dict:
    """Create a user; Conflict when the username is taken; 429 past the client's budget."""
    spec = parse_new_user(body)
    if throttle is not None:
        throttle.check_registration(client, clock().timestamp())
    # Hash before taking the write lock: scrypt is deliberately slow.
    password_hash = hash_password(spec.password)
    with uow(write=True) as tx:
        if tx.users.get_by_username(spec.username) is not None:
            raise username_taken()
        user = User(new_id(), spec.username, password_hash, clock())
        tx.users.add(user)
        tx.commit()
    return user_to_json(user)


def issue_token(uow: UnitOfWorkFactory, issuer: TokenIssuer, body: dict, clock: Clock,
                throttle: AccountThrottle | None = None, client: str = "") -> dict:
    """An access token for valid credentials; one answer for unknown user and wrong password;
    429 + Retry-After while the username or the client is locked out (checked first)."""
    request = parse_token_request(body)
    if throttle is not None:
        throttle.check_login(request.username, client, clock().timestamp())
    with uow() as tx:
        user = tx.users.get_by_username(request.username)
    try:
        user = check_credentials(user, request.password)
    except Unauthorized:
        if throttle is not None:
            throttle.login_failed(request.username, client, clock().timestamp())
        raise
    if throttle is not None:
        throttle.login_succeeded(request.username, clock().timestamp())
    token = issuer.issue(user.id, user.username, request.expires_in, clock())
    return {"access_token": token, "token_type": "Bearer", "expires_in": request.expires_in}


def me(uow: UnitOfWorkFactory, user_id: str) -> dict:
    """The caller's own account."""
    with uow() as tx:
        user = tx.users.get(user_id)
    if user is None:
        raise account_gone()
    return user_to_json(user)
