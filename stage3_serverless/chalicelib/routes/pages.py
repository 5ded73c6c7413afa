"""GET /docs, /openapi.yaml and /dashboard through API Gateway; homesense_core.pages decides what."""

from chalice import Blueprint, Response

from homesense_core import pages
from homesense_core.problems import NotFound

from .. import container
from ..web import ANY_CONTENT, handles_problems

bp = Blueprint(__name__)


def public_urls(request, settings) -> tuple[str, str]:
    """(REST base URL, WebSocket URL) as a browser reaches them; "" where unknown."""
    context = request.context or {}
    base_url = pages.checked_base_url(settings.public_base_url.format(
        host=request.headers.get("host", ""), api_id=context.get("apiId", ""),
        stage=context.get("stage", "")))
    return base_url, pages.websocket_scheme(settings.websocket_endpoint)


def _view(route: str):
    @handles_problems
    def view(asset: str = ""):
        base_url, ws_url = public_urls(bp.current_request, container.get().settings)
        found = pages.page(route.replace("{asset}", asset), base_url, ws_url)
        if found is None:
            raise NotFound()
        # Every page is text (HTML, JS, CSS, YAML): no binary media type is involved.
        return Response(body=found.body.decode("utf-8"), status_code=200, headers=found.all_headers())
    return view


for _index, _route in enumerate(pages.ROUTES):
    # No authorizer: like /health, these pages are public.
    bp.route(_route, methods=["GET"], content_types=ANY_CONTENT, name=f"page_{_index}")(_view(_route))
