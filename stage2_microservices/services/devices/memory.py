"""In-memory fakes of the devices ports, for unit tests."""

from stage2_microservices.common.uow import InMemoryUnitOfWork, MemoryState

from .ports import DeviceRepository


class InMemoryDeviceRepository(DeviceRepository):
    """Dict-backed fake over the unit of work's copy of the tables."""

    def __init__(self, rows: dict):
        self.rows = rows

    async def get(self, device_id):
        return self.rows.get(device_id)

    async def page(self, owner_id, after, limit):
        mine = sorted((d for d in self.rows.values() if d.owner_id == owner_id),
                      key=lambda d: (d.created_at, d.id))
        if after is not None:
            mine = [d for d in mine if (d.created_at, d.id) > after]
        return mine[:limit]

    async def add(self, device):
        self.rows[device.id] = device

    async def update(self, device):
        self.rows[device.id] = device

    async def delete(self, device_id):
        self.rows.pop(device_id, None)


class InMemoryDevicesUnitOfWork(InMemoryUnitOfWork):
    """Fake transaction with .devices."""

    async def _begin(self):
        await super()._begin()
        self.devices = InMemoryDeviceRepository(self.tables["devices"])


def memory_state() -> MemoryState:
    """Empty in-memory tables for the fake."""
    return MemoryState(devices={})
