"""`python -m migration.ministack_edge`: ministack with three emulator gaps closed for the edge.

On AWS an HTTP_PROXY integration (1) passes the backend's response headers through to the client
(Location, X-Request-Id, CORS, Retry-After, WWW-Authenticate) and (2) fills `{device_id}` in its
URI from the `requestParameters` mapping the template declares. ministack 1.5.33 keeps only
Content-Type, and drops `requestParameters` when it imports an OpenAPI body, so the contract
suite would fail through it for reasons that are the emulator's, not the architecture's. This
wrapper replaces those functions before ministack starts (gap 3 is below, on Mock); the rest of
the emulator runs unchanged.
"""
from __future__ import annotations

import json
import sys
import urllib.error
import urllib.parse
import urllib.request

# Hop-by-hop headers (RFC 9110 §7.6.1) and those the gateway sets itself are not forwarded.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
                  "proxy-authenticate", "proxy-authorization", "content-length", "host", "date"}


def target_uri(uri: str, request_parameters: dict, path_params: dict, query_params: dict) -> str:
    """The backend URL: {name} placeholders filled from the mapped path parameters, query appended."""
    for dest, src in (request_parameters or {}).items():
        prefix = "integration.request.path."
        if not dest.startswith(prefix) or not isinstance(src, str):
            continue
        if src.startswith("method.request.path."):
            value = path_params.get(src[len("method.request.path."):], "")
        else:
            value = src.strip("'")
        # Greedy {proxy+} values keep their slashes; single segments are re-quoted.
        uri = uri.replace("{" + dest[len(prefix):] + "}", urllib.parse.quote(value, safe="/"))
    # The imported mapping is lost in ministack (gap 2): a placeholder left over is filled from
    # the method's path parameter of the same name, which is what the template maps it from.
    for name, value in path_params.items():
        uri = uri.replace("{" + name.rstrip("+") + "}", urllib.parse.quote(value, safe="/"))
    pairs = [(k, item) for k, v in (query_params or {}).items()
             for item in (v if isinstance(v, list) else [v])]
    if pairs:
        uri += ("&" if "?" in uri else "?") + urllib.parse.urlencode(pairs)
    return uri


def _end_to_end(headers) -> dict:
    return {k: v for k, v in dict(headers).items() if k.lower() not in _NOT_FORWARDED}


def install() -> None:
    """Swap ministack's HTTP_PROXY invoker for one that keeps the backend's response headers."""
    from ministack.services import apigateway_v1 as v1

    async def invoke_http_proxy(integration, path, method, headers, body, query_params, path_params=None):
        uri = target_uri(integration.get("uri", ""), integration.get("requestParameters", {}),
                         path_params or {}, query_params)
        request = urllib.request.Request(uri, data=body or None, method=method)
        for name, value in headers.items():
            if name.lower() not in _NOT_FORWARDED:
                request.add_header(name, value)
        try:
            status, raw_headers, data = await v1._urlopen_async(request, v1._PROXY_TIMEOUT_SECONDS)
        except urllib.error.HTTPError as exc:
            status, raw_headers, data = exc.code, exc.headers, exc.read()
        except Exception as exc:  # noqa: BLE001 - an unreachable backend is the gateway's 5xx, as on AWS
            print(f"[ministack_edge] {method} {uri}: {exc!r}", file=sys.stderr, flush=True)
            return v1._gw_error("INTEGRATION_FAILURE", "The backend could not be reached.")
        return status, _end_to_end(raw_headers.items() if hasattr(raw_headers, "items") else raw_headers), data

    original_mock = v1._invoke_mock_v1

    def invoke_mock(integration):
        # Gap 3: ministack applies control-plane calls at once instead of at CreateDeployment, so
        # between PutIntegration and PutIntegrationResponse a Mock has no responses and would
        # answer 200 {}. On AWS clients never see that state; here it answers like the freeze.
        if not integration.get("integrationResponses"):
            return 503, {"Content-Type": "application/problem+json", "Retry-After": "1"}, json.dumps(
                {"type": "/problems/service-unavailable", "title": "Service unavailable", "status": 503,
                 "detail": "This route is being reconfigured; retry shortly."}).encode()
        return original_mock(integration)

    v1._invoke_http_proxy_v1 = invoke_http_proxy
    v1._invoke_mock_v1 = invoke_mock


if __name__ == "__main__":
    install()
    # Then exactly what `make stage3` runs: ministack with the bounded, queueing Lambda pool.
    from stage3_serverless.infra.ministack_main import main

    main()
