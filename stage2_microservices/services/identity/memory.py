"""In-memory fakes of the identity ports, for unit tests."""

from homesense_core.problems import username_taken

from stage2_microservices.common.uow import InMemoryUnitOfWork, MemoryState

from .ports import ThrottleRepository, UserRepository


class InMemoryUserRepository(UserRepository):
    """Dict-backed fake."""

    def __init__(self, rows: dict):
        self.rows = rows

    async def add(self, user):
        if any(u.username == user.username for u in self.rows.values()):
            raise username_taken()
        self.rows[user.id] = user

    async def by_username(self, username):
        return next((u for u in self.rows.values() if u.username == username), None)

    async def by_id(self, user_id):
        return self.rows.get(user_id)


class InMemoryThrottleRepository(ThrottleRepository):
    """Throttle records in the fake's tables."""

    def __init__(self, rows: dict):
        self.rows = rows

    async def get(self, key):
        return self.rows.get(key)

    async def update(self, key, change):
        self.rows[key] = change(self.rows.get(key))
        return self.rows[key]


class InMemoryIdentityUnitOfWork(InMemoryUnitOfWork):
    """Fake transaction with .users and .throttle."""

    async def _begin(self):
        await super()._begin()
        self.users = InMemoryUserRepository(self.tables["users"])
        self.throttle = InMemoryThrottleRepository(self.tables["throttle"])


def memory_state() -> MemoryState:
    """Empty in-memory tables for the fake."""
    return MemoryState(users={}, throttle={})
