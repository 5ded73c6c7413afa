"""Alerts of the caller."""
from flask import Blueprint, request

from stage1_monolith.services import alerts
from stage1_monolith.web.deps import authenticate, deps
from stage1_monolith.web.responses import json_response

bp = Blueprint("alerts", __name__)


@bp.get("/alerts")
def index():
    user_id = authenticate()
    return json_response(alerts.list_alerts(deps().uow, user_id, request.args))


@bp.get("/alerts/<alert_id>")
def show(alert_id: str):
    user_id = authenticate()
    return json_response(alerts.get_alert(deps().uow, user_id, alert_id))


@bp.post("/alerts/<alert_id>/ack")
def ack(alert_id: str):
    user_id, d = authenticate(), deps()
    return json_response(alerts.acknowledge_alert(d.uow, user_id, alert_id, d.clock, d.hub.publish))
