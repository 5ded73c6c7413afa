"""GET /docs, /openapi.yaml and /dashboard: homesense_core.pages decides what; this only wires it."""
from flask import Blueprint, Response, request

from homesense_core import pages
from homesense_core.problems import NotFound

bp = Blueprint("pages", __name__)


def _serve(path: str) -> Response:
    base_url = pages.base_url_from(request.scheme, request.host, request.script_root)
    found = pages.page(path, base_url, pages.ws_url_for(base_url))
    if found is None:
        raise NotFound()
    return Response(found.body, status=200, headers=found.all_headers())


for _index, _route in enumerate(pages.ROUTES):
    bp.add_url_rule(_route.replace("{asset}", "<asset>"), endpoint=f"page_{_index}", methods=["GET"],
                    view_func=lambda asset=None: _serve(request.path))
