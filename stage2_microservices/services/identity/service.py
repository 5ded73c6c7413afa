"""Identity use cases: sign up, log in, who am I."""

from typing import Callable

from starlette.concurrency import run_in_threadpool

from homesense_core.clock import utcnow
from homesense_core.ids import new_id
from homesense_core.model import User, user_to_json
from homesense_core.passwords import check_credentials, hash_password
from homesense_core.problems import account_gone
from homesense_core.tokens import SigningKey, TokenIssuer
from homesense_core.validation import parse_new_user, parse_token_request

from stage2_microservices.common.uow import UnitOfWork


class IdentityService:
    """Users and tokens; scrypt runs in a worker thread so the event loop stays responsive."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], key: SigningKey, clock=utcnow):
        self.uow, self.key, self.clock = uow_factory, key, clock
        self.issuer = TokenIssuer(key)

    async def register_user(self, body: dict) -> dict:
        """201 body of POST /users; Conflict if the username is taken."""
        new = parse_new_user(body)
        password_hash = await run_in_threadpool(hash_password, new.password)
        user = User(new_id(), new.username, password_hash, self.clock())
        async with self.uow() as uow:
            await uow.users.add(user)
            await uow.commit()
        return user_to_json(user)

    async def issue_token(self, body: dict) -> dict:
        """200 body of POST /auth/token; the same 401 for unknown user and wrong password."""
        request = parse_token_request(body)
        async with self.uow() as uow:
            user = await uow.users.by_username(request.username)
        user = await run_in_threadpool(check_credentials, user, request.password)
        token = self.issuer.issue(user.id, user.username, request.expires_in, self.clock())
        return {"access_token": token, "token_type": "Bearer", "expires_in": request.expires_in}

    async def me(self, user_id: str) -> dict:
        """The caller's account; 401 if the token outlived the account."""
        async with self.uow() as uow:
            user = await uow.users.by_id(user_id)
        if user is None:
            raise account_gone()
        return user_to_json(user)

    def jwks(self) -> dict:
        """Public keys for the gateway and the notifier."""
        return self.key.jwks()
