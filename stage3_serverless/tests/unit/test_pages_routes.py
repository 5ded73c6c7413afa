"""/docs, /openapi.yaml and /dashboard through Chalice's local gateway, and the URLs they name."""

from dataclasses import replace
from types import SimpleNamespace

import yaml

from chalicelib.routes.pages import public_urls
from chalicelib.settings import Settings


def test_docs_spec_and_dashboard_are_public_text_with_their_types(harness):
    spec = harness.request("GET", "/openapi.yaml", headers={"Host": "abc.execute-api.eu-west-1.amazonaws.com"})
    assert spec.status_code == 200 and spec.headers["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(spec.body)["servers"][0]["url"].startswith("https://abc.execute-api.eu-west-1.amazonaws.com")
    assert spec.headers["Access-Control-Allow-Origin"] == "*" and spec.headers["X-Request-Id"]
    for path, kind in (("/docs", "text/html"), ("/docs/swagger-ui-bundle.js", "text/javascript"),
                       ("/dashboard", "text/html"), ("/dashboard/dashboard.css", "text/css")):
        r = harness.request("GET", path)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith(kind), (path, r.body[:200])
    missing = harness.request("GET", "/docs/missing.js")
    assert missing.status_code == 404 and missing.json_body["type"] == "/problems/not-found"
    assert harness.request("POST", "/docs").status_code == 405


def test_public_urls_follow_the_configured_template():
    settings = Settings(table_name="t", signing_key_parameter="p", state_machine_arn="",
                        websocket_endpoint="http://127.0.0.1:4566/_aws/execute-api/ws9/api",
                        cors_origins=("*",))
    request = SimpleNamespace(headers={"host": "127.0.0.1:4566"}, context={"apiId": "rest7", "stage": "api"})
    local = replace(settings, public_base_url="http://{host}/_aws/execute-api/{api_id}/{stage}")
    assert public_urls(request, local) == ("http://127.0.0.1:4566/_aws/execute-api/rest7/api",
                                           "ws://127.0.0.1:4566/_aws/execute-api/ws9/api")
    assert public_urls(request, settings)[0] == "https://127.0.0.1:4566/api"
    hostile = SimpleNamespace(headers={"host": "x\"><script>"}, context={"stage": "api"})
    assert public_urls(hostile, settings)[0] == ""
