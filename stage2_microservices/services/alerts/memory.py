"""In-memory fakes of the alerts ports, for unit tests."""

from homesense_core.model import ACTIVE_STATUSES

from stage2_microservices.common.uow import InMemoryUnitOfWork, MemoryState

from .ports import ProjectedDevice, AlertRepository, DeviceProjectionRepository


class InMemoryAlertRepository(AlertRepository):
    """Dict-backed fake: {id: (Alert, due_at)}."""

    def __init__(self, rows: dict):
        self.rows = rows

    def _alerts(self):
        return [a for a, _ in self.rows.values()]

    async def get(self, alert_id, for_update=False):
        row = self.rows.get(alert_id)
        return row[0] if row else None

    async def active_for_device(self, device_id):
        return sorted((a for a in self._alerts() if a.device_id == device_id and a.status in ACTIVE_STATUSES),
                      key=lambda a: a.opened_at)

    async def save(self, alert, due_at):
        self.rows[alert.id] = (alert, due_at)

    async def device_ids(self, owner_id):
        return {a.device_id for a in self._alerts() if a.owner_id == owner_id}

    async def page(self, owner_id, device_ids, status, after, limit):
        rows = sorted((a for a in self._alerts() if a.owner_id == owner_id and a.device_id in device_ids
                       and (status is None or a.status == status)),
                      key=lambda a: (a.opened_at, a.id), reverse=True)
        if after is not None:
            rows = [a for a in rows if (a.opened_at, a.id) < after]
        return rows[:limit]

    async def due(self, now, limit):
        return [a for a, due in self.rows.values() if due is not None and due <= now][:limit]

    async def open_for_device(self, device_id):
        return [a for a in self._alerts() if a.device_id == device_id and a.status == "open"]

    async def delete_for_device(self, device_id):
        for alert_id in [a.id for a in self._alerts() if a.device_id == device_id]:
            del self.rows[alert_id]


class InMemoryDeviceProjection(DeviceProjectionRepository):
    """Dict-backed fake."""

    def __init__(self, rows: dict):
        self.rows = rows

    async def get(self, device_id):
        return self.rows.get(device_id)

    async def get_many(self, device_ids):
        return {i: self.rows[i] for i in device_ids if i in self.rows}

    async def upsert(self, device):
        current = self.rows.get(device.id)
        if current is None or (not current.deleted and device.updated_at >= current.device.updated_at):
            self.rows[device.id] = ProjectedDevice(device, False)
        return self.rows[device.id]

    async def mark_deleted(self, device):
        self.rows[device.id] = ProjectedDevice(device, True)


class InMemoryAlertsUnitOfWork(InMemoryUnitOfWork):
    """Fake transaction with .alerts and .devices."""

    async def _begin(self):
        await super()._begin()
        self.alerts = InMemoryAlertRepository(self.tables["alerts"])
        self.devices = InMemoryDeviceProjection(self.tables["devices"])


def memory_state() -> MemoryState:
    """Empty in-memory tables for the fake."""
    return MemoryState(alerts={}, devices={})
