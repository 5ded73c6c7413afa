"""Generates postman/homesense.postman_collection.json from contract/openapi.yaml.

    python postman/generate.py           # rewrite the collection
    python postman/generate.py --check   # exit 1 if the committed collection is stale

The collection has two folders. "1 Walkthrough" is the newcomer's path with test scripts:
register -> token (captured into {{token}}) -> device -> readings -> alert (polled until it
exists) -> ack. "2 Reference" holds one request per operation of the contract, generated, each
checking that the status is one the contract documents for it. Newman runs both (make newman).
"""
from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACT = REPO_ROOT / "contract" / "openapi.yaml"
COLLECTION = Path(__file__).resolve().parent / "homesense.postman_collection.json"
SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
# Which variable a path's {id} means, by the collection it sits under.
PATH_IDS = {"/devices/": "deviceId", "/alerts/": "alertId"}
# Request bodies use the walkthrough's account, so the reference requests act as that user.
BODY_VARIABLES = {"username": "{{username}}", "password": "{{password}}"}
POLL_TRIES = 40
POLL_PAUSE_MS = 500
METHODS = ("get", "post", "put", "patch", "delete")


def js(*lines: str) -> list[str]:
    """A script as Postman stores it: one string per line."""
    return list(lines)


def event(listen: str, lines: list[str]) -> dict:
    return {"listen": listen, "script": {"type": "text/javascript", "exec": lines}}


def request_item(name: str, method: str, path: str, *, body: dict | None = None, auth: bool = True,
                 headers: list[dict] | None = None, query: list[dict] | None = None,
                 tests: list[str] | None = None, prerequest: list[str] | None = None,
                 description: str = "") -> dict:
    """One Postman request item against {{baseUrl}}."""
    raw_query = "&".join(f"{q['key']}={q['value']}" for q in (query or []) if not q.get("disabled"))
    url = {"raw": "{{baseUrl}}" + path + (f"?{raw_query}" if raw_query else ""),
           "host": ["{{baseUrl}}"], "path": [p for p in path.strip("/").split("/") if p]}
    if query:
        url["query"] = query
    request: dict = {"method": method.upper(), "header": list(headers or []), "url": url}
    if description:
        request["description"] = description
    if auth:
        request["auth"] = {"type": "bearer", "bearer": [{"key": "token", "value": "{{token}}", "type": "string"}]}
    else:
        request["auth"] = {"type": "noauth"}
    if body is not None:
        request["header"].append({"key": "Content-Type", "value": "application/json"})
        request["body"] = {"mode": "raw", "raw": json.dumps(body, indent=2, ensure_ascii=False),
                           "options": {"raw": {"language": "json"}}}
    item: dict = {"name": name, "request": request}
    events = []
    if prerequest:
        events.append(event("prerequest", prerequest))
    if tests:
        events.append(event("test", tests))
    if events:
        item["event"] = events
    return item


def walkthrough() -> dict:
    """register -> token -> device -> readings -> alert -> ack, each step checked."""
    steps = [
        request_item(
            "Register a user", "post", "/users", auth=False,
            body={"username": "{{username}}", "password": "{{password}}"},
            prerequest=js(
                "// A fresh account per run, so the walkthrough can run again and again.",
                "pm.collectionVariables.set('username', 'walker_' + Date.now().toString(36));",
                "pm.collectionVariables.set('password', 'correct horse ' + Math.random().toString(36).slice(2));",
            ),
            tests=js(
                "pm.test('201 Created with the new user', () => {",
                "  pm.response.to.have.status(201);",
                "  pm.expect(pm.response.json().username).to.eql(pm.collectionVariables.get('username'));",
                "});",
            )),
        request_item(
            "Get a token", "post", "/auth/token", auth=False,
            body={"username": "{{username}}", "password": "{{password}}"},
            tests=js(
                "pm.test('200 with a bearer token', () => {",
                "  pm.response.to.have.status(200);",
                "  pm.expect(pm.response.json().token_type).to.eql('Bearer');",
                "});",
                "// Every later request sends it: Authorization: Bearer {{token}}.",
                "pm.collectionVariables.set('token', pm.response.json().access_token);",
            )),
        request_item(
            "Who am I", "get", "/me",
            tests=js(
                "pm.test('the token names the new user', () => {",
                "  pm.response.to.have.status(200);",
                "  pm.expect(pm.response.json().username).to.eql(pm.collectionVariables.get('username'));",
                "});",
            )),
        request_item(
            "Create a device", "post", "/devices",
            body={"name": "Kitchen thermometer", "room": "kitchen", "kind": "temperature", "unit": "°C",
                  "low_threshold": 16, "high_threshold": 26, "escalation_after_seconds": 300},
            tests=js(
                "pm.test('201 with a Location header', () => {",
                "  pm.response.to.have.status(201);",
                "  pm.expect(pm.response.headers.get('Location')).to.eql('/devices/' + pm.response.json().id);",
                "});",
                "pm.collectionVariables.set('deviceId', pm.response.json().id);",
            )),
        request_item(
            "Send readings in range", "post", "/devices/{{deviceId}}/readings",
            body={"readings": [{"value": 21.5}, {"value": 22.0}]},
            tests=js(
                "pm.test('202 Accepted, both readings', () => {",
                "  pm.response.to.have.status(202);",
                "  pm.expect(pm.response.json().accepted).to.eql(2);",
                "});",
            )),
        request_item(
            "Send an out-of-range reading", "post", "/devices/{{deviceId}}/readings",
            body={"readings": [{"value": 31.0}]},
            headers=[{"key": "Idempotency-Key", "value": "{{$guid}}",
                      "description": "A retry with the same key and body stores nothing new."}],
            tests=js(
                "pm.test('202 Accepted: the alert follows asynchronously', () => {",
                "  pm.response.to.have.status(202);",
                "});",
                "pm.collectionVariables.set('alertTries', 0);",
            )),
        request_item(
            "Poll until the alert exists", "get", "/alerts",
            query=[{"key": "device_id", "value": "{{deviceId}}"}, {"key": "status", "value": "open"}],
            description=("Alerts are produced asynchronously (within 5 s). A WebSocket client is told; "
                         "a Postman run asks again until the alert is there."),
            tests=js(
                "const items = pm.response.json().items || [];",
                "const tries = Number(pm.collectionVariables.get('alertTries') || 0);",
                f"if (items.length === 0 && tries < {POLL_TRIES}) {{",
                "  pm.collectionVariables.set('alertTries', tries + 1);",
                "  postman.setNextRequest(pm.info.requestName);  // ask again after a pause",
                f"  setTimeout(() => {{}}, {POLL_PAUSE_MS});",
                "} else {",
                "  pm.test('the out-of-range reading opened a high alert', () => {",
                "    pm.response.to.have.status(200);",
                "    pm.expect(items).to.have.lengthOf(1);",
                "    pm.expect(items[0].kind).to.eql('high');",
                "    pm.expect(items[0].last_value).to.eql(31);",
                "  });",
                "  pm.collectionVariables.set('alertId', items[0] && items[0].id);",
                "}",
            )),
        request_item(
            "Acknowledge the alert", "post", "/alerts/{{alertId}}/ack",
            tests=js(
                "pm.test('200, now acknowledged', () => {",
                "  pm.response.to.have.status(200);",
                "  pm.expect(pm.response.json().status).to.eql('acknowledged');",
                "  pm.expect(pm.response.json().acknowledged_at).to.be.a('string');",
                "});",
            )),
        request_item(
            "Readings summary", "get", "/devices/{{deviceId}}/readings/summary",
            tests=js(
                "pm.test('all three readings are counted', () => {",
                "  pm.response.to.have.status(200);",
                "  pm.expect(pm.response.json().count).to.eql(3);",
                "  pm.expect(pm.response.json().max).to.eql(31);",
                "});",
            )),
    ]
    return {"name": "1 Walkthrough: register, token, device, readings, alert, ack",
            "description": "Run in order: each request captures what the next one needs.",
            "item": steps}


def _resolve(spec: dict, node):
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _example_body(spec: dict, operation: dict):
    body = _resolve(spec, operation.get("requestBody"))
    if not body:
        return None
    media = body.get("content", {}).get("application/json", {})
    example = media.get("example")
    if example is None and media.get("examples"):
        example = _resolve(spec, next(iter(media["examples"].values()))).get("value")
    if isinstance(example, dict):
        example = {k: BODY_VARIABLES.get(k, v) for k, v in example.items()}
    return {} if example is None else example


def _required_fields(spec: dict, response: dict) -> list[str]:
    schema = _resolve(spec, _resolve(spec, response).get("content", {}).get("application/json", {}).get("schema"))
    return list((schema or {}).get("required", []))


def reference_item(spec: dict, path: str, method: str, operation: dict, path_item: dict) -> dict:
    """One operation, with checks every answer must pass."""
    concrete = path
    for prefix, variable in PATH_IDS.items():
        if path.startswith(prefix):
            concrete = path.replace("{id}", "{{" + variable + "}}")
    parameters = [_resolve(spec, p) for p in path_item.get("parameters", []) + operation.get("parameters", [])]
    query = [{"key": p["name"], "value": "", "disabled": not p.get("required", False),
              "description": p.get("description", "").strip()} for p in parameters if p["in"] == "query"]
    documented = sorted(int(code) for code in operation["responses"] if code.isdigit())
    success = [c for c in documented if 200 <= c < 300]
    required = {}
    for code in success:
        fields = _required_fields(spec, operation["responses"][str(code)])
        if fields:
            required[str(code)] = fields
    tests = js(
        f"const documented = {json.dumps(documented)};",
        "pm.test('the status is one the contract documents for this operation', () => {",
        "  pm.expect(documented).to.include(pm.response.code);",
        "});",
        "pm.test('X-Request-Id is on every response', () => {",
        "  pm.expect(pm.response.headers.get('X-Request-Id')).to.match(/^[A-Za-z0-9._-]{1,128}$/);",
        "});",
        "if (pm.response.code >= 400) {",
        "  pm.test('errors are problem+json', () => {",
        "    pm.expect(pm.response.headers.get('Content-Type')).to.include('application/problem+json');",
        "    pm.expect(pm.response.json().status).to.eql(pm.response.code);",
        "  });",
        "}",
        f"const required = {json.dumps(required)}[String(pm.response.code)];",
        "if (required) {",
        "  pm.test('the body has every required field', () => {",
        "    pm.expect(pm.response.json()).to.include.all.keys(...required);",
        "  });",
        "}",
    )
    secured = bool(operation.get("security", spec.get("security")))
    description = (operation.get("summary", "") + "\n\n" + operation.get("description", "")).strip()
    return request_item(f"{method.upper()} {path}", method, concrete, body=_example_body(spec, operation),
                        auth=secured, query=query or None, tests=tests, description=description)


def reference(spec: dict) -> dict:
    """Every operation, grouped by tag; deletions last so the others still find their device."""
    folders: dict[str, list[dict]] = {tag["name"]: [] for tag in spec.get("tags", [])}
    deletions = []
    for path, path_item in spec["paths"].items():
        for method in METHODS:
            if method not in path_item:
                continue
            operation = path_item[method]
            item = reference_item(spec, path, method, operation, path_item)
            if method == "delete":
                deletions.append(item)
            else:
                folders.setdefault(operation.get("tags", ["other"])[0], []).append(item)
    items = [{"name": tag, "item": entries} for tag, entries in folders.items() if entries]
    items.append({"name": "deletions (run last)", "item": deletions})
    return {"name": "2 Reference: every operation of contract/openapi.yaml (generated)",
            "description": "Generated by postman/generate.py; do not edit by hand.", "item": items}


def collection(spec: dict) -> dict:
    """The whole collection, deterministic for a given contract."""
    version = spec["info"]["version"]
    return {
        "info": {
            "_postman_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"homesense/postman/{version}")),
            "name": f"HomeSense API {version}",
            "description": (f"{spec['info'].get('summary', '')}\n\nGenerated from contract/openapi.yaml by "
                            "postman/generate.py. Pick the environment of a stage (postman/environments/), "
                            "or set baseUrl to the base_url a stage prints."),
            "schema": SCHEMA,
        },
        "variable": [{"key": "baseUrl", "value": "http://127.0.0.1:8000"}]
                    + [{"key": k, "value": ""} for k in ("username", "password", "token", "deviceId",
                                                            "alertId", "alertTries")],
        "item": [walkthrough(), reference(spec)],
    }


def render() -> str:
    spec = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    return json.dumps(collection(spec), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed collection is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not COLLECTION.exists() or COLLECTION.read_text(encoding="utf-8") != text:
            print(f"{COLLECTION} is stale: run python postman/generate.py", file=sys.stderr)
            return 1
        return 0
    COLLECTION.write_text(text, encoding="utf-8")
    print(f"wrote {COLLECTION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
