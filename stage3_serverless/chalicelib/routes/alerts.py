"""/alerts, /alerts/{alert_id} and its ack."""

from chalice import Blueprint

from .. import container
from ..services import alerts
from ..web import ANY_CONTENT, caller, handles_problems, query
from .auth import jwt_auth

bp = Blueprint(__name__)


@bp.route("/alerts", methods=["GET"], authorizer=jwt_auth, content_types=ANY_CONTENT)
@handles_problems
def list_alerts():
    request = bp.current_request
    return alerts.list_alerts(container.get(), caller(request)[0], query(request))


@bp.route("/alerts/{alert_id}", methods=["GET"], authorizer=jwt_auth, content_types=ANY_CONTENT)
@handles_problems
def get_alert(alert_id):
    return alerts.get_alert(container.get(), caller(bp.current_request)[0], alert_id)


# The ack takes no body, so any (or no) media type is fine.
@bp.route("/alerts/{alert_id}/ack", methods=["POST"], authorizer=jwt_auth, content_types=ANY_CONTENT)
@handles_problems
def ack_alert(alert_id):
    return alerts.acknowledge_alert(container.get(), caller(bp.current_request)[0], alert_id)
