"""HTTP routes of the telemetry service: parse, call the service, render."""

from fastapi import APIRouter, Request

from stage2_microservices.common.web import caller_id, json_response, read_json, result_response

from .service import TelemetryService


def build_router(service: TelemetryService) -> APIRouter:
    """POST/GET /devices/{id}/readings and GET /devices/{id}/readings/summary."""
    router = APIRouter()

    @router.post("/devices/{device_id}/readings")
    async def post_readings(device_id: str, request: Request):
        """Accept a batch of readings (Idempotency-Key honoured)."""
        owner = await caller_id(request)
        body = await read_json(request)
        result = await service.accept_readings(owner, device_id, body, request.url.path,
                                               request.headers.get("idempotency-key"))
        return result_response(result)

    @router.get("/devices/{device_id}/readings")
    async def get_readings(device_id: str, request: Request):
        """A page of readings."""
        return json_response(await service.list_readings(await caller_id(request), device_id, request.query_params))

    @router.get("/devices/{device_id}/readings/summary")
    async def get_summary(device_id: str, request: Request):
        """Aggregate of readings in a range."""
        return json_response(await service.readings_summary(await caller_id(request), device_id, request.query_params))

    return router
