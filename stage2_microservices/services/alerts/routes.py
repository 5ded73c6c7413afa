"""HTTP routes of the alerts service: parse, call the service, render."""

from fastapi import APIRouter, Request

from stage2_microservices.common.web import caller_id, json_response

from .service import AlertService


def build_router(service: AlertService) -> APIRouter:
    """GET /alerts, GET /alerts/{id}, POST /alerts/{id}/ack."""
    router = APIRouter()

    @router.get("/alerts")
    async def list_alerts(request: Request):
        """The caller's alerts, newest first."""
        return json_response(await service.list_alerts(await caller_id(request), request.query_params))

    @router.get("/alerts/{alert_id}")
    async def get_alert(alert_id: str, request: Request):
        """One alert."""
        return json_response(await service.get_alert(await caller_id(request), alert_id))

    @router.post("/alerts/{alert_id}/ack")
    async def ack_alert(alert_id: str, request: Request):
        """Acknowledge an alert (no body needed)."""
        return json_response(await service.acknowledge_alert(await caller_id(request), alert_id))

    return router
