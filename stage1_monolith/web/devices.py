"""Devices of the caller."""
from flask import Blueprint, Response, request

from stage1_monolith.services import devices
from stage1_monolith.web.deps import authenticate, deps, idempotency
from stage1_monolith.web.responses import json_body, json_response, result_response

bp = Blueprint("devices", __name__)


@bp.post("/devices")
def create():
    user_id, d = authenticate(), deps()
    body = json_body()
    return result_response(devices.create_device(d.uow, user_id, body, d.clock, idempotency(body),
                                                  events=d.device_events))


@bp.get("/devices")
def index():
    user_id = authenticate()
    return json_response(devices.list_devices(deps().uow, user_id, request.args))


@bp.get("/devices/<device_id>")
def show(device_id: str):
    user_id = authenticate()
    return json_response(devices.get_device(deps().uow, user_id, device_id))


@bp.patch("/devices/<device_id>")
def patch(device_id: str):
    user_id, d = authenticate(), deps()
    return json_response(devices.patch_device(d.uow, user_id, device_id, json_body(), d.clock,
                                              events=d.device_events))


@bp.delete("/devices/<device_id>")
def delete(device_id: str):
    user_id, d = authenticate(), deps()
    devices.delete_device(d.uow, user_id, device_id, d.clock, events=d.device_events)
    return Response(status=204)
