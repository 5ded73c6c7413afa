"""The 2x edge's routing, derived from the strangler map: pure functions, no emulator."""
from migration.apigw import INTEGRATION, group_of, http_proxy, owner_of, rewrite_template
from migration.apigw_routing import ApiRouting, freeze_integration
from migration.ministack_edge import target_uri
from migration.steps import LAMBDA, step

LAMBDA_URI = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/f/invocations"


def _packaged() -> dict:
    lam = {"type": "aws_proxy", "uri": LAMBDA_URI}
    paths = {p: {"get": {INTEGRATION: dict(lam), "security": [{"jwt_auth": []}]},
                 "post": {INTEGRATION: dict(lam)}}
             for p in ("/health", "/users", "/me", "/devices/{device_id}",
                       "/devices/{device_id}/readings", "/alerts/{alert_id}/ack", "/{proxy+}")}
    return {"Resources": {"RestAPI": {"Properties": {"DefinitionBody": {"paths": paths}}}}}


def test_every_contract_path_has_the_group_the_strangler_map_moves():
    assert [group_of(p) for p in ("/health", "/users", "/auth/token", "/me", "/.well-known/jwks.json",
                                  "/devices", "/devices/{device_id}", "/devices/{device_id}/readings",
                                  "/devices/{device_id}/readings/summary", "/alerts", "/alerts/{alert_id}/ack",
                                  "/", "/{proxy+}")] == [
        "health", "identity", "identity", "identity", "identity", "devices", "devices", "readings",
        "readings", "alerts", "alerts", None, None]


def test_unknown_routes_follow_the_default_route():
    owners = step("2b").owners
    assert owner_of("/{proxy+}", owners) == owners["health"] != LAMBDA


def test_2a_proxies_every_method_and_drops_the_authorizer():
    body = rewrite_template(_packaged(), step("2a").owners, "http://envoy:1")["Resources"]["RestAPI"][
        "Properties"]["DefinitionBody"]
    for path, methods in body["paths"].items():
        for method, spec in methods.items():
            assert spec[INTEGRATION]["type"] == "http_proxy", (path, method)
            assert spec[INTEGRATION]["httpMethod"] == method.upper()
            assert "security" not in spec
    ack = body["paths"]["/alerts/{alert_id}/ack"]["post"][INTEGRATION]
    assert ack["uri"] == "http://envoy:1/alerts/{alert_id}/ack"
    assert ack["requestParameters"] == {"integration.request.path.alert_id": "method.request.path.alert_id"}
    assert body["paths"]["/{proxy+}"]["get"][INTEGRATION]["uri"] == "http://envoy:1/{proxy}"


def test_2b_keeps_identity_on_lambda_with_its_authorizer_and_2c_is_the_template_unchanged():
    packaged = _packaged()
    body = rewrite_template(packaged, step("2b").owners, "http://envoy:1")["Resources"]["RestAPI"][
        "Properties"]["DefinitionBody"]
    assert body["paths"]["/me"]["get"][INTEGRATION]["type"] == "aws_proxy"
    assert body["paths"]["/me"]["get"]["security"] == [{"jwt_auth": []}]
    assert body["paths"]["/devices/{device_id}"]["get"][INTEGRATION]["type"] == "http_proxy"
    assert rewrite_template(packaged, step("2c").owners, None) == packaged


def test_http_proxy_maps_every_path_parameter():
    spec = http_proxy("/devices/{device_id}/readings", "post", "http://h:2/")
    assert spec["uri"] == "http://h:2/devices/{device_id}/readings"
    assert spec["requestParameters"] == {"integration.request.path.device_id": "method.request.path.device_id"}


def test_target_uri_fills_placeholders_even_when_the_emulator_dropped_the_mapping():
    assert target_uri("http://h/devices/{device_id}", {}, {"device_id": "D1"}, {"limit": "5"}) == \
        "http://h/devices/D1?limit=5"
    assert target_uri("http://h/{proxy}", {"integration.request.path.proxy": "method.request.path.proxy"},
                      {"proxy": "a/b c"}, {"x": ["1", "2"]}) == "http://h/a/b%20c?x=1&x=2"


class _FakeApiGateway:
    """Records control-plane calls; the routing logic is what is under test."""

    def __init__(self):
        self.calls = []

    def get_resources(self, **kw):
        return {"items": [{"path": p, "id": f"r{i}"} for i, p in enumerate(_packaged()["Resources"]["RestAPI"][
            "Properties"]["DefinitionBody"]["paths"])]}

    def __getattr__(self, name):
        return lambda **kw: self.calls.append((name, kw))


def test_a_cutover_freezes_only_the_moving_writes_then_switches_them():
    api = _FakeApiGateway()
    body = _packaged()["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    routing = ApiRouting(api, "api1", "api", body, "http://envoy:1", LAMBDA_URI, "auth1")
    routing.observe(step("2a").owners)
    assert routing.apply(step("2a").owners) == 0 and api.calls == []
    frozen = routing.apply(step("2a").owners, frozen=frozenset({"identity"}))
    assert frozen == 2  # POST /users and POST /me; GET /me keeps being served
    mocks = [kw for name, kw in api.calls if name == "put_integration" and kw["type"] == "MOCK"]
    assert sorted(kw["resourceId"] for kw in mocks) == ["r1", "r2"]
    api.calls.clear()
    routing.apply(step("2b").owners)
    lambdas = [kw for name, kw in api.calls if name == "put_integration" and kw["type"] == "AWS_PROXY"]
    assert sorted((kw["resourceId"], kw["httpMethod"]) for kw in lambdas) == [
        ("r1", "GET"), ("r1", "POST"), ("r2", "GET"), ("r2", "POST")]
    auth = [kw["patchOperations"] for name, kw in api.calls if name == "update_method"
            and kw["resourceId"] == "r2" and kw["httpMethod"] == "GET"][0]
    assert {"op": "replace", "path": "/authorizerId", "value": "auth1"} in auth
    assert api.calls[-1][0] == "create_deployment"


def test_the_freeze_answers_503_problem_json_with_retry_after():
    mock = freeze_integration()
    assert mock["requestTemplates"]["application/json"] == '{"statusCode": 503}'
    params = mock["response"]["responseParameters"]
    assert params["method.response.header.Retry-After"] == "'1'"
    assert params["method.response.header.Content-Type"] == "'application/problem+json'"
    assert '"/problems/service-unavailable"' in mock["response"]["responseTemplates"]["application/json"]
