"""Identity use cases: sign up, log in, who am I."""

from typing import Callable

from starlette.concurrency import run_in_threadpool

from homesense_core.clock import utcnow
from homesense_core.ids import new_id
from homesense_core.model import User, user_to_json
from homesense_core.passwords import check_credentials, hash_password
from homesense_core.problems import RateLimited, Unauthorized, account_gone
from homesense_core.throttle import (Record, ThrottlePolicy, after_failure, after_registration, client_key,
                                     registration_key, retry_after, user_key)
from homesense_core.tokens import SigningKey, TokenIssuer
from homesense_core.validation import parse_new_user, parse_token_request

from stage2_microservices.common.uow import UnitOfWork


class IdentityService:
    """Users and tokens; scrypt runs in a worker thread so the event loop stays responsive."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], key: SigningKey, clock=utcnow,
                 throttle: ThrottlePolicy = ThrottlePolicy()):
        self.uow, self.key, self.clock, self.policy = uow_factory, key, clock, throttle
        self.issuer = TokenIssuer(key)

    # --- homesense_core.throttle's rules over the identity database (one row lock per key) ---
    async def _check_login(self, username: str, client: str, now: float) -> None:
        async with self.uow() as uow:
            wait = max(retry_after(await uow.throttle.get(user_key(username)), now),
                       retry_after(await uow.throttle.get(client_key(client)), now))
        if wait:
            raise RateLimited(wait, "Too many failed logins; retry later.")

    async def _login_failed(self, username: str, client: str, now: float) -> None:
        async with self.uow() as uow:
            await uow.throttle.update(user_key(username), lambda r: after_failure(self.policy.per_username, r, now))
            await uow.throttle.update(client_key(client), lambda r: after_failure(self.policy.per_client, r, now))
            await uow.commit()

    async def _login_succeeded(self, username: str, now: float) -> None:
        async with self.uow() as uow:
            await uow.throttle.update(user_key(username), lambda r: Record(0, now, 0.0))
            await uow.commit()

    async def _check_registration(self, client: str, now: float) -> None:
        async with self.uow() as uow:
            wait = retry_after(await uow.throttle.get(registration_key(client)), now)
            if not wait:
                await uow.throttle.update(registration_key(client),
                                          lambda r: after_registration(self.policy.registration, r, now))
                await uow.commit()
        if wait:
            raise RateLimited(wait, "Too many new accounts from this client; retry later.")

    async def register_user(self, body: dict, client: str = "") -> dict:
        """Create a user; Conflict when the username is taken; 429 past the client's budget."""
        new = parse_new_user(body)
        await self._check_registration(client, self.clock().timestamp())
        password_hash = await run_in_threadpool(hash_password, new.password)
        user = User(new_id(), new.username, password_hash, self.clock())
        async with self.uow() as uow:
            await uow.users.add(user)
            await uow.commit()
        return user_to_json(user)

    async def issue_token(self, body: dict, client: str = "") -> dict:
        """An access token for valid credentials; one answer for unknown user and wrong password;
        429 + Retry-After while the username or the client is locked out (checked first)."""
        request = parse_token_request(body)
        await self._check_login(request.username, client, self.clock().timestamp())
        async with self.uow() as uow:
            user = await uow.users.by_username(request.username)
        try:
            user = await run_in_threadpool(check_credentials, user, request.password)
        except Unauthorized:
            await self._login_failed(request.username, client, self.clock().timestamp())
            raise
        await self._login_succeeded(request.username, self.clock().timestamp())
        token = self.issuer.issue(user.id, user.username, request.expires_in, self.clock())
        return {"access_token": token, "token_type": "Bearer", "expires_in": request.expires_in}

    async def me(self, user_id: str) -> dict:
        """The caller's own account."""
        async with self.uow() as uow:
            user = await uow.users.by_id(user_id)
        if user is None:
            raise account_gone()
        return user_to_json(user)

    def jwks(self) -> dict:
        """Public keys for the gateway and the notifier."""
        return self.key.jwks()
