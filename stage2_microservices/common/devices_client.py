"""Read-through port to the devices service (ownership and thresholds)."""

from abc import ABC, abstractmethod
from urllib.parse import quote

import httpx

from homesense_core.integration_events import device_from_snapshot
from homesense_core.model import Device
from homesense_core.problems import ServiceUnavailable

from .auth import SERVICE_TOKEN_HEADER
from .web import request_id_var


class DeviceDirectory(ABC):
    """What other services may ask the devices service."""

    @abstractmethod
    async def get(self, device_id: str) -> Device | None:
        """The current device (any owner; callers check ownership), None if it does not exist."""

    async def owned(self, owner_id: str, device_id: str) -> Device | None:
        """The device if it exists and belongs to owner_id."""
        device = await self.get(device_id)
        return device if device is not None and device.owner_id == owner_id else None


class HttpDeviceDirectory(DeviceDirectory):
    """Calls GET /internal/devices/{id} on the devices service over the service's shared client."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, service_token: str):
        self.http, self.base_url = http, base_url.rstrip("/")
        self._service_token = service_token

    async def get(self, device_id):
        url = f"{self.base_url}/internal/devices/{quote(device_id, safe='')}"
        headers = {"X-Request-Id": request_id_var.get(), SERVICE_TOKEN_HEADER: self._service_token}
        try:
            response = await self.http.get(url, headers=headers)
            if response.status_code == 404:
                return None
            body = response.json() if response.status_code == 200 else None
        except (httpx.TransportError, ValueError) as exc:
            raise ServiceUnavailable("The devices service is unavailable.") from exc
        if not isinstance(body, dict):
            raise ServiceUnavailable("The devices service is unavailable.")
        return device_from_snapshot(body)


class InMemoryDeviceDirectory(DeviceDirectory):
    """Fake for unit tests: a dict of devices."""

    def __init__(self, *devices: Device):
        self.devices = {d.id: d for d in devices}

    def remove(self, device_id: str) -> None:
        """Forget a device (as if deleted)."""
        self.devices.pop(device_id, None)

    async def get(self, device_id):
        return self.devices.get(device_id)
