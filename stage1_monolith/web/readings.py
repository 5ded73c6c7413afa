"""Readings of one device."""
from flask import Blueprint, g, request

from stage1_monolith.services import readings
from stage1_monolith.web.deps import authenticate, deps, idempotency
from stage1_monolith.web.responses import json_body, json_response, result_response

bp = Blueprint("readings", __name__)


@bp.post("/devices/<device_id>/readings")
def accept(device_id: str):
    user_id, d = authenticate(), deps()
    body = json_body()
    result = readings.accept_readings(d.uow, user_id, device_id, body, d.clock, idempotency(body), d.wake_worker,
                                      g.get("request_id"))
    return result_response(result)


@bp.get("/devices/<device_id>/readings")
def index(device_id: str):
    user_id = authenticate()
    return json_response(readings.list_readings(deps().uow, user_id, device_id, request.args))


@bp.get("/devices/<device_id>/readings/summary")
def summary(device_id: str):
    user_id = authenticate()
    return json_response(readings.readings_summary(deps().uow, user_id, device_id, request.args))
