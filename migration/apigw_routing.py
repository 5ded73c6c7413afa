"""The front door's routing table: each method's integration set from the strangler map.

A cutover is a few control-plane calls and one deployment: PutIntegration per method whose
owner changed (HTTP proxy to stage 2, Lambda proxy to the stage 3 function, or a Mock that
answers 503 while the method's data is being moved), UpdateMethod for the authorizer, then
CreateDeployment of the same stage. Clients keep the same URL throughout.
"""
from __future__ import annotations

import json

from homesense_core.http import CORS_EXPOSE_HEADERS
from homesense_core.problems import PROBLEM_CONTENT_TYPE, problem_dict
from migration.apigw import http_proxy, owner_of, group_of
from migration.steps import LAMBDA

WRITE_METHODS = frozenset({"post", "patch", "delete", "put"})
FREEZE_RETRY_AFTER_S = 1


def freeze_integration() -> dict:
    """A Mock integration answering 503 problem+json with Retry-After: the write freeze."""
    body = problem_dict("service-unavailable", "This resource is moving; retry shortly.")
    headers = {"Retry-After": f"'{FREEZE_RETRY_AFTER_S}'", "Content-Type": f"'{PROBLEM_CONTENT_TYPE}'",
               "Access-Control-Allow-Origin": "'*'", "Access-Control-Expose-Headers": f"'{CORS_EXPOSE_HEADERS}'"}
    return {"type": "MOCK", "requestTemplates": {"application/json": '{"statusCode": 503}'},
            "response": {"statusCode": "503", "selectionPattern": "503",
                         "responseParameters": {f"method.response.header.{k}": v for k, v in headers.items()},
                         "responseTemplates": {"application/json": json.dumps(body)}}}


class ApiRouting:
    """Owns the integrations of one deployed REST API; apply() makes them match a step."""

    def __init__(self, apigw, api_id: str, stage_name: str, body: dict, backend_url: str | None,
                 lambda_uri: str, authorizer_id: str):
        self.apigw, self.api_id, self.stage_name = apigw, api_id, stage_name
        self.backend_url, self.lambda_uri, self.authorizer_id = backend_url, lambda_uri, authorizer_id
        # (path, method) -> whether the route needs a token when Lambda serves it.
        self.secured = {(path, m): bool(spec.get("security"))
                        for path, methods in body["paths"].items() for m, spec in methods.items()}
        self.resource_ids = {r["path"]: r["id"] for r in self._resources()}
        self.current: dict[tuple[str, str], str] = {}

    def _resources(self) -> list[dict]:
        items, position = [], None
        while True:
            page = self.apigw.get_resources(restApiId=self.api_id, limit=500,
                                            **({"position": position} if position else {}))
            items += page["items"]
            position = page.get("position")
            if not position:
                return items

    def desired(self, path: str, method: str, owners: dict[str, str], frozen: frozenset[str]) -> str:
        """"lambda", "http" or "frozen" for one method."""
        if method in WRITE_METHODS and (group_of(path) or "health") in frozen:
            return "frozen"
        return "lambda" if owner_of(path, owners) == LAMBDA else "http"

    def observe(self, owners: dict[str, str]) -> None:
        """Record what the deployed template already has, so apply() changes only the difference."""
        for path, method in self.secured:
            self.current[(path, method)] = self.desired(path, method, owners, frozenset())

    def apply(self, owners: dict[str, str], frozen: frozenset[str] = frozenset()) -> int:
        """Make every method match owners (and the freeze); deploy; return how many changed."""
        changed = 0
        for path, method in self.secured:
            want = self.desired(path, method, owners, frozen)
            if self.current.get((path, method)) == want:
                continue
            self._put(self.resource_ids[path], path, method, want)
            self.current[(path, method)] = want
            changed += 1
        if changed:
            self.apigw.create_deployment(restApiId=self.api_id, stageName=self.stage_name,
                                         description="migration: " + json.dumps(owners, sort_keys=True))
        return changed

    def _put(self, resource_id: str, path: str, method: str, kind: str) -> None:
        verb = method.upper()
        ids = {"restApiId": self.api_id, "resourceId": resource_id, "httpMethod": verb}
        secured = kind == "lambda" and self.secured[(path, method)]
        auth = [{"op": "replace", "path": "/authorizationType", "value": "CUSTOM" if secured else "NONE"}]
        if secured:
            auth.append({"op": "replace", "path": "/authorizerId", "value": self.authorizer_id})
        self.apigw.update_method(**ids, patchOperations=auth)
        if kind == "lambda":
            self.apigw.put_integration(**ids, type="AWS_PROXY", integrationHttpMethod="POST",
                                       uri=self.lambda_uri)
        elif kind == "http":
            spec = http_proxy(path, method, self.backend_url or "")
            self.apigw.put_integration(**ids, type="HTTP_PROXY", integrationHttpMethod=verb,
                                       uri=spec["uri"], requestParameters=spec["requestParameters"])
        else:
            mock = freeze_integration()
            response = mock["response"]
            self.apigw.put_method_response(**ids, statusCode="503", responseParameters={
                k: False for k in response["responseParameters"]})
            self.apigw.put_integration(**ids, type="MOCK", requestTemplates=mock["requestTemplates"])
            self.apigw.put_integration_response(**ids, statusCode="503",
                                                selectionPattern=response["selectionPattern"],
                                                responseParameters=response["responseParameters"],
                                                responseTemplates=response["responseTemplates"])
