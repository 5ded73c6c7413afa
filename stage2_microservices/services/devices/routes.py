"""HTTP routes of the devices service: parse, call the service, render."""

from fastapi import APIRouter, Request

from stage2_microservices.common.auth import SERVICE_TOKEN_HEADER, check_service_token
from stage2_microservices.common.web import caller_id, json_response, read_json, result_response

from .service import DeviceService


def build_router(service: DeviceService, service_token: str) -> APIRouter:
    """Public /devices routes plus /internal routes the gateway must not expose (service token only)."""
    router = APIRouter()

    @router.post("/devices")
    async def create_device(request: Request):
        """Create a device (Idempotency-Key honoured)."""
        owner = await caller_id(request)
        body = await read_json(request)
        result = await service.create_device(owner, body, request.url.path,
                                             request.headers.get("idempotency-key"))
        return result_response(result)

    @router.get("/devices")
    async def list_devices(request: Request):
        """The caller's devices, oldest first."""
        return json_response(await service.list_devices(await caller_id(request), request.query_params))

    @router.get("/devices/{device_id}")
    async def get_device(device_id: str, request: Request):
        """One of the caller's devices."""
        return json_response(await service.get_device(await caller_id(request), device_id))

    @router.patch("/devices/{device_id}")
    async def patch_device(device_id: str, request: Request):
        """Merge-patch one of the caller's devices."""
        owner = await caller_id(request)
        body = await read_json(request)
        return json_response(await service.patch_device(owner, device_id, body))

    @router.delete("/devices/{device_id}")
    async def delete_device(device_id: str, request: Request):
        """Delete one of the caller's devices."""
        await service.delete_device(await caller_id(request), device_id)
        return json_response(None, 204)

    @router.get("/internal/devices/{device_id}", include_in_schema=False)
    async def internal_device(device_id: str, request: Request):
        """Service-to-service read-through (includes owner_id); callers present the service token."""
        check_service_token(request.headers.get(SERVICE_TOKEN_HEADER), service_token)
        return json_response(await service.internal_get(device_id))

    return router
