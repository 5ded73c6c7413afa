"""GET /health."""
from flask import Blueprint

from homesense_core import health_body

from stage1_monolith.web.responses import json_response

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    return json_response(health_body("monolith"))
