"""The browser pages every stage serves beside the contract: /docs, /openapi.yaml and /dashboard.

They are not part of the contract's resource list; each stage only wires ROUTES to page().
The rule of what is served, with which content type and headers, lives here once.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The contract sits beside the package in the repository; stage 3's bundle and stage 2's image
# put it at the same relative place (vendor/contract, COPY contract/).
CONTRACT_PATH = Path(__file__).resolve().parent.parent / "contract" / "openapi.yaml"

# What a stage wires (Flask/FastAPI/Chalice path syntax differ only in the {asset} placeholder).
ROUTES = ("/docs", "/docs/{asset}", "/openapi.yaml", "/dashboard", "/dashboard/{asset}")

HTML = "text/html; charset=utf-8"
JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
# RFC 9512 registers application/yaml.
YAML = "application/yaml; charset=utf-8"

# Only these names are served: no path from the request ever reaches the file system.
_ASSETS = {
    "docs": {
        "swagger-ui.css": ("swagger-ui/swagger-ui.css", CSS),
        "swagger-ui-bundle.js": ("swagger-ui/swagger-ui-bundle.js", JS),
        "explorer.js": ("docs/explorer.js", JS),
        "explorer.css": ("docs/explorer.css", CSS),
    },
    "dashboard": {
        "dashboard.js": ("dashboard/dashboard.js", JS),
        "dashboard.css": ("dashboard/dashboard.css", CSS),
    },
}
_PAGES = {"/docs": "docs/index.html", "/dashboard": "dashboard/index.html"}

# The pages talk to any stage's URL (the dashboard can be pointed elsewhere), so connect-src is open;
# Swagger UI sets inline styles and uses data: images.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src * ws: wss:; frame-ancestors 'none'; base-uri 'none'")
# A base URL is echoed into the spec and the page only when it is plainly a URL (it comes from the
# Host header, which the client chooses).
_BASE_URL_RE = re.compile(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~\-/]*)?$")
_WS_URL_RE = re.compile(r"^wss?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~\-/]*)?$")
_TOP_LEVEL_KEY = re.compile(r"^[A-Za-z]")


@dataclass(frozen=True)
class Page:
    """A response body with its headers; the stage turns it into its framework's response."""

    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)

    def all_headers(self) -> dict[str, str]:
        """Content-Type and the rest, ready for a response."""
        return {"Content-Type": self.content_type, **self.headers}


def checked_base_url(url: str) -> str:
    """url without a trailing slash if it is plainly an http(s) URL, else ""."""
    url = (url or "").rstrip("/")
    return url if _BASE_URL_RE.match(url) else ""


def base_url_from(scheme: str, host: str, prefix: str = "") -> str:
    """The public base URL of a request ("" when the pieces do not make a plain URL)."""
    return checked_base_url(f"{(scheme or 'http').lower()}://{host}{prefix}")


def websocket_scheme(url: str) -> str:
    """http(s)://... as ws(s)://... (stage 3's WebSocket API callback URL is its client URL too)."""
    checked = checked_base_url(url)
    return "ws" + checked[len("http"):] if checked else ""


def ws_url_for(base_url: str) -> str:
    """The same-origin WebSocket URL of stages 1 and 2: ws(s)://host[/prefix]/ws."""
    return websocket_scheme(base_url) + "/ws" if checked_base_url(base_url) else ""


def served_spec(spec_text: str, base_url: str) -> str:
    """The contract with its top-level `servers` replaced by this deployment's base URL."""
    if not _BASE_URL_RE.match(base_url or ""):
        return spec_text
    servers = ("servers:\n"
               f"  - url: {base_url}\n"
               "    description: This deployment (the URL this document was served from).\n")
    lines = spec_text.splitlines(keepends=True)
    out: list[str] = []
    index = 0
    replaced = False
    while index < len(lines):
        line = lines[index]
        if not replaced and line.startswith("servers:"):
            out.append(servers)
            index += 1
            # The block ends at the next top-level key; comments and blank lines inside belong to it.
            while index < len(lines) and not _TOP_LEVEL_KEY.match(lines[index]):
                index += 1
            replaced = True
            continue
        out.append(line)
        index += 1
    if not replaced:
        out.append("\n" + servers)
    return "".join(out)


def page(path: str, base_url: str = "", ws_url: str = "") -> Page | None:
    """The page or asset at path, or None (the stage answers its usual 404)."""
    if path == "/openapi.yaml":
        return Page(served_spec(CONTRACT_PATH.read_text(encoding="utf-8"), base_url).encode(), YAML,
                    _common_headers())
    if path in _PAGES:
        html = (STATIC_DIR / _PAGES[path]).read_text(encoding="utf-8")
        html = html.replace("{{CONFIG}}", _config_json(base_url, ws_url))
        return Page(html.encode(), HTML, {**_common_headers(), "Content-Security-Policy": CSP})
    section, _, name = path.lstrip("/").partition("/")
    asset = _ASSETS.get(section, {}).get(name)
    if asset is None:
        return None
    relative, content_type = asset
    return Page((STATIC_DIR / relative).read_bytes(), content_type, _common_headers())


def _common_headers() -> dict[str, str]:
    # no-cache: revalidate every time, so a student's edit shows on the next reload.
    return {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def _config_json(base_url: str, ws_url: str) -> str:
    """The page's defaults as JSON safe inside a <script type="application/json"> element."""
    config = {
        "baseUrl": base_url if _BASE_URL_RE.match(base_url or "") else "",
        "wsUrl": ws_url if _WS_URL_RE.match(ws_url or "") else "",
    }
    # Escaping < keeps "</script>" from ever closing the element early.
    return json.dumps(config).replace("<", "\\u003c")
