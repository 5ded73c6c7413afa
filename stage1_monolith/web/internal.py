"""/internal routes for the migration steps (HOMESENSE_INTERNAL_API=1 only; the edge never routes them).

While the monolith still owns devices next to extracted stage 2 services, those services read
devices here (stage 2's HttpDeviceDirectory calls GET /internal/devices/{id}), and the migration's
cutover hands the background work over through the /internal/migration routes. Every route needs
the deployment's service token (HOMESENSE_SERVICE_TOKEN), as stage 2's /internal routes do: a local
process that reaches the monolith's port proves nothing by being there.
"""
from flask import Blueprint, current_app, request

from homesense_core.problems import NotFound
from homesense_core.tokens import SERVICE_TOKEN_HEADER, check_service_token

from stage1_monolith.services import devices
from stage1_monolith.web.deps import deps
from stage1_monolith.web.responses import json_response

bp = Blueprint("internal", __name__)
CONTROLS = "homesense.migration_controls"


@bp.before_request
def _service_token_only():
    check_service_token(request.headers.get(SERVICE_TOKEN_HEADER), deps().settings.service_token)


def _controls():
    controls = current_app.extensions.get(CONTROLS)
    if controls is None:
        raise NotFound("No migration controls in this process.")
    return controls


@bp.get("/internal/devices/<device_id>")
def device(device_id: str):
    """Any owner's device with owner_id (the devices-service snapshot form)."""
    return json_response(devices.internal_device(deps().uow, device_id))


@bp.post("/internal/migration/handover")
def handover():
    """Stop escalating and drain the outbox: alerts and readings are about to move out."""
    return json_response(_controls().handover())


@bp.post("/internal/migration/resume")
def resume():
    """Undo a hand-over whose cutover did not happen."""
    return json_response(_controls().resume())


@bp.post("/internal/migration/disconnect-push")
def disconnect_push():
    """Close open WebSockets (1012) once /ws is routed elsewhere, so clients reconnect there."""
    return json_response(_controls().disconnect_push())
