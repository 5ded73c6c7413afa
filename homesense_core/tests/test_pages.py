"""The browser pages: what is served, with which types, and the spec's servers set to the caller's URL."""
import json
import re

import pytest
import yaml

from homesense_core import pages


def test_spec_is_served_with_this_deployments_server_and_is_otherwise_the_contract():
    served = pages.page("/openapi.yaml", "http://127.0.0.1:9999/_aws/execute-api/abc/api")
    assert served.content_type.startswith("application/yaml")
    spec = yaml.safe_load(served.body)
    original = yaml.safe_load(pages.CONTRACT_PATH.read_text())
    assert spec["servers"] == [{"url": "http://127.0.0.1:9999/_aws/execute-api/abc/api",
                                "description": spec["servers"][0]["description"]}]
    del spec["servers"], original["servers"]
    assert spec == original


def test_servers_block_is_replaced_whole_or_appended():
    text = "openapi: 3.1.0\nservers:\n  - url: a\n  # note\n\n  - url: b\ntags: []\n"
    out = yaml.safe_load(pages.served_spec(text, "https://api.example.test/v1"))
    assert out["openapi"] == "3.1.0" and out["tags"] == []
    assert [s["url"] for s in out["servers"]] == ["https://api.example.test/v1"]
    appended = yaml.safe_load(pages.served_spec("openapi: 3.1.0\n", "http://h:1"))
    assert appended["servers"][0]["url"] == "http://h:1"


@pytest.mark.parametrize("host", ["evil.test/<script>", "a b", "h\"x", "h:1/x?y", ""])
def test_a_host_that_is_not_plainly_a_host_is_never_echoed(host):
    base = pages.base_url_from("http", host)
    assert base == ""
    served = pages.page("/openapi.yaml", base).body.decode()
    assert served == pages.CONTRACT_PATH.read_text()
    html = pages.page("/dashboard", "http://" + host, "ws://" + host).body.decode()
    assert "<script>" not in html.split('id="homesense-config"', 1)[1].split("</script>", 1)[0]


def test_dashboard_carries_its_defaults_as_json():
    html = pages.page("/dashboard", "http://127.0.0.1:8000", "ws://127.0.0.1:8000/ws").body.decode()
    config = re.search(r'<script id="homesense-config" type="application/json">(.*?)</script>', html).group(1)
    assert json.loads(config) == {"baseUrl": "http://127.0.0.1:8000", "wsUrl": "ws://127.0.0.1:8000/ws"}


def test_base_and_ws_urls():
    assert pages.base_url_from("HTTPS", "api.example.test", "/prod/") == "https://api.example.test/prod"
    assert pages.ws_url_for("https://api.example.test/prod") == "wss://api.example.test/prod/ws"
    assert pages.ws_url_for("http://127.0.0.1:8000") == "ws://127.0.0.1:8000/ws"


@pytest.mark.parametrize("path,content_type", [
    ("/docs", "text/html"), ("/dashboard", "text/html"),
    ("/docs/swagger-ui-bundle.js", "text/javascript"), ("/docs/swagger-ui.css", "text/css"),
    ("/docs/explorer.js", "text/javascript"), ("/dashboard/dashboard.js", "text/javascript"),
    ("/dashboard/dashboard.css", "text/css"),
])
def test_every_page_and_asset_has_its_type_and_nosniff(path, content_type):
    served = pages.page(path, "http://127.0.0.1:8000")
    assert served.content_type.startswith(content_type) and served.body
    assert served.all_headers()["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/docs/../pages.py", "/docs/index.html", "/dashboard/index.html",
                                  "/docs/LICENSE", "/static/docs/explorer.js", "/docs/", "/dashboard/"])
def test_only_named_assets_are_served(path):
    assert pages.page(path, "http://127.0.0.1:8000") is None


def test_pages_reference_only_assets_that_are_served():
    for path in ("/docs", "/dashboard"):
        html = pages.page(path, "http://h:1").body.decode()
        for ref in re.findall(r'(?:src|href)="([^"#:]+)"', html):
            assert pages.page("/" + ref, "http://h:1") is not None, (path, ref)


def test_routes_cover_every_page():
    assert set(pages.ROUTES) == {"/docs", "/docs/{asset}", "/openapi.yaml", "/dashboard", "/dashboard/{asset}"}


def test_websocket_scheme_and_checked_base_url():
    assert pages.websocket_scheme("https://abc.execute-api.eu-west-1.amazonaws.com/api") == \
        "wss://abc.execute-api.eu-west-1.amazonaws.com/api"
    assert pages.websocket_scheme("http://127.0.0.1:4566/_aws/execute-api/ws1/api/") == \
        "ws://127.0.0.1:4566/_aws/execute-api/ws1/api"
    assert pages.websocket_scheme("") == "" and pages.ws_url_for("nonsense") == ""
    assert pages.checked_base_url("http://h:1/a/") == "http://h:1/a"
    assert pages.checked_base_url("javascript:alert(1)") == ""
