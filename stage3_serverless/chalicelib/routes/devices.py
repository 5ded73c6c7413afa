"""/devices and /devices/{device_id}."""

from chalice import Blueprint, Response

from .. import container
from ..services import devices, idempotent
from ..web import ANY_CONTENT, as_response, caller, handles_problems, json_body, query
from .auth import jwt_auth

bp = Blueprint(__name__)


@bp.route("/devices", methods=["POST"], authorizer=jwt_auth, content_types=ANY_CONTENT)
@handles_problems
def create_device():
    request, deps = bp.current_request, container.get()
    user_id, _ = caller(request)
    body = json_body(request)
    return as_response(idempotent.run(
        deps, user_id, request.headers.get("idempotency-key"), "POST", "/devices", body,
        lambda: devices.create_device(deps, user_id, body)))


@bp.route("/devices", methods=["GET"], authorizer=jwt_auth, content_types=ANY_CONTENT)
@handles_problems
def list_devices():
    request = bp.current_request
    return devices.list_devices(container.get(), caller(request)[0], query(request))


@bp.route("/devices/{device_id}", methods=["GET"], authorizer=jwt_auth, content_types=ANY_CONTENT)
@handles_problems
def get_device(device_id):
    return devices.get_device(container.get(), caller(bp.current_request)[0], device_id)


@bp.route("/devices/{device_id}", methods=["PATCH"], authorizer=jwt_auth, content_types=ANY_CONTENT)
@handles_problems
def patch_device(device_id):
    request = bp.current_request
    return devices.patch_device(container.get(), caller(request)[0], device_id, json_body(request))


@bp.route("/devices/{device_id}", methods=["DELETE"], authorizer=jwt_auth, content_types=ANY_CONTENT)
@handles_problems
def delete_device(device_id):
    devices.delete_device(container.get(), caller(bp.current_request)[0], device_id)
    return Response(body="", status_code=204)
