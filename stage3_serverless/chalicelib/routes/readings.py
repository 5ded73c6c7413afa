"""/devices/{device_id}/readings and its summary."""

from chalice import Blueprint

from .. import container
from ..services import idempotent, readings
from ..web import ANY_CONTENT, as_response, caller, current_request_id, handles_problems, json_body, query
from .auth import jwt_auth

bp = Blueprint(__name__)


@bp.route("/devices/{device_id}/readings", methods=["POST"], authorizer=jwt_auth,
          content_types=ANY_CONTENT)
@handles_problems
def post_readings(device_id):
    request, deps = bp.current_request, container.get()
    user_id, _ = caller(request)
    body = json_body(request)
    return as_response(idempotent.run(
        deps, user_id, request.headers.get("idempotency-key"), "POST",
        f"/devices/{device_id}/readings", body,
        lambda: readings.accept_readings(deps, user_id, device_id, body, current_request_id())))


@bp.route("/devices/{device_id}/readings", methods=["GET"], authorizer=jwt_auth, content_types=ANY_CONTENT)
@handles_problems
def list_readings(device_id):
    request = bp.current_request
    return readings.list_readings(container.get(), caller(request)[0], device_id, query(request))


@bp.route("/devices/{device_id}/readings/summary", methods=["GET"], authorizer=jwt_auth, content_types=ANY_CONTENT)
@handles_problems
def readings_summary(device_id):
    request = bp.current_request
    return readings.readings_summary(container.get(), caller(request)[0], device_id, query(request))
