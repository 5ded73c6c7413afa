"""The only changes made to the packaged template for the local ministack target."""

# ministack deploys plain CloudFormation; it applies the SAM transform only with the optional
# aws-sam-translator package, which this project does not install. So the few SAM constructs
# `chalice package` emits are expanded here the way the SAM transform expands them, plus four
# local-only settings. Real AWS gets the unmodified template (see deploy_aws.py).
# One more local-only change: the two routes API Gateway answers without the API Lambda on AWS
# (a Mock and a DynamoDB service integration, infra/integrations.py) go back to the Lambda proxy,
# because ministack cannot execute them; the reason is logged for each.

from __future__ import annotations

import copy
import hashlib
import json
from typing import Callable

from .integrations import lambda_proxy_fallback

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
_GATEWAY_RESPONSES = "x-amazon-apigateway-gateway-responses"
_BINARY_TYPES = "x-amazon-apigateway-binary-media-types"


class UnsupportedTemplate(ValueError):
    """The template uses a SAM feature this expansion does not know; fail instead of guessing."""


def localize(template: dict, *, code_bucket: str, code_key: str, endpoint_url: str,
             log: Callable[[str], None] = lambda _m: None) -> dict:
    """A ministack-deployable copy of a packaged template; the input is left untouched."""
    out = copy.deepcopy(template)
    # LOCAL ONLY: the Mock and the DynamoDB integration become Lambda proxies again.
    lambda_proxy_fallback(out, log)
    globals_fn = (out.pop("Globals", {}) or {}).get("Function", {})
    if out.get("Transform") == SAM_TRANSFORM:
        del out["Transform"]
    resources = out["Resources"]
    for name, resource in list(resources.items()):
        kind = resource["Type"]
        if kind == "AWS::Serverless::Function":
            _expand_function(resources, name, resource, globals_fn, code_bucket, code_key, endpoint_url)
        elif kind == "AWS::Serverless::Api":
            _expand_api(resources, name, resource)
        elif kind == "AWS::ApiGatewayV2::Deployment":
            _drop_v2_deployment(resources, name)
        elif kind.startswith("AWS::Serverless::"):
            raise UnsupportedTemplate(f"{name}: {kind} is not expanded for ministack")
    return out


def _merged_environment(globals_fn: dict, props: dict) -> dict:
    # SAM merges Globals.Function.Environment.Variables under the function's own variables.
    merged = dict((globals_fn.get("Environment") or {}).get("Variables") or {})
    merged.update((props.get("Environment") or {}).get("Variables") or {})
    return merged


def _expand_function(resources: dict, name: str, resource: dict, globals_fn: dict,
                     code_bucket: str, code_key: str, endpoint_url: str) -> None:
    props = resource["Properties"]
    variables = _merged_environment(globals_fn, props)
    # LOCAL ONLY: the SDK inside the Lambdas talks to ministack, not to AWS.
    variables["AWS_ENDPOINT_URL"] = endpoint_url
    # LOCAL ONLY: ministack serves the @connections callback API under a path, not a host.
    # (The stage name is copied, not Ref'd: a Ref would make the functions depend on their own routes.)
    ws_stage = resources.get("WebsocketAPIStage", {}).get("Properties", {}).get("StageName")
    if "WEBSOCKET_ENDPOINT" in variables and ws_stage:
        variables["WEBSOCKET_ENDPOINT"] = {
            "Fn::Sub": endpoint_url + "/_aws/execute-api/${WebsocketAPI}/" + ws_stage}
    # LOCAL ONLY: ministack serves the REST API under a path too; the served /docs and /dashboard
    # name that URL (the API id cannot be Ref'd here either, so the function fills it in per request).
    variables["PUBLIC_BASE_URL"] = "http://{host}/_aws/execute-api/{api_id}/{stage}"
    fn_props = {
        # LOCAL ONLY: code comes from ministack's S3, as `aws cloudformation package` would do.
        "Code": {"S3Bucket": code_bucket, "S3Key": code_key},
        "Handler": props["Handler"],
        "Runtime": props.get("Runtime", globals_fn.get("Runtime")),
        "Role": props["Role"],
        "MemorySize": props.get("MemorySize", globals_fn.get("MemorySize", 128)),
        "Timeout": props.get("Timeout", globals_fn.get("Timeout", 3)),
        "Environment": {"Variables": variables},
    }
    if props.get("Architectures"):
        fn_props["Architectures"] = props["Architectures"]
    if props.get("Tags"):
        fn_props["Tags"] = [{"Key": k, "Value": v} for k, v in props["Tags"].items()]
    for event_name, event in (props.get("Events") or {}).items():
        if event.get("Type") != "DynamoDB":
            raise UnsupportedTemplate(f"{name}.{event_name}: event type {event.get('Type')} not expanded")
        ev = event["Properties"]
        mapping = {"EventSourceArn": ev["Stream"], "FunctionName": {"Ref": name},
                   "StartingPosition": ev.get("StartingPosition", "LATEST"),
                   "BatchSize": ev.get("BatchSize", 100)}
        if "MaximumBatchingWindowInSeconds" in ev:
            mapping["MaximumBatchingWindowInSeconds"] = ev["MaximumBatchingWindowInSeconds"]
        resources[f"{name}{event_name}"] = {"Type": "AWS::Lambda::EventSourceMapping", "Properties": mapping}
    resources[name] = {**_attributes(resource), "Type": "AWS::Lambda::Function", "Properties": fn_props}


def _expand_api(resources: dict, name: str, resource: dict) -> None:
    props = resource["Properties"]
    body = copy.deepcopy(props["DefinitionBody"])
    stage_name = props["StageName"]
    endpoint = props.get("EndpointConfiguration", "EDGE")
    api_props = {
        "Name": {"Ref": "AWS::StackName"},
        "Body": body,
        "EndpointConfiguration": {"Types": [endpoint if isinstance(endpoint, str) else endpoint["Type"]]},
    }
    if body.get(_BINARY_TYPES):
        api_props["BinaryMediaTypes"] = body[_BINARY_TYPES]
    resources[name] = {**_attributes(resource), "Type": "AWS::ApiGateway::RestApi", "Properties": api_props}
    # ministack's OpenAPI import skips this extension; the same responses become resources,
    # created before the deployment that snapshots them (as an import-then-deploy does).
    response_ids = []
    for response_type, response in (body.get(_GATEWAY_RESPONSES) or {}).items():
        rid = f"{name}GatewayResponse{response_type.title().replace('_', '')}"
        resources[rid] = {"Type": "AWS::ApiGateway::GatewayResponse", "Properties": {
            "RestApiId": {"Ref": name}, "ResponseType": response_type,
            "StatusCode": response.get("statusCode"),
            "ResponseParameters": response.get("responseParameters", {}),
            "ResponseTemplates": response.get("responseTemplates", {})}}
        response_ids.append(rid)
    # SAM names the deployment after a hash of the API body, so a changed API is redeployed.
    digest = hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()[:10]
    deployment_id = f"{name}Deployment{digest}"
    resources[deployment_id] = {"Type": "AWS::ApiGateway::Deployment", "DependsOn": response_ids,
                                "Properties": {"RestApiId": {"Ref": name}}}
    stage_props = {"RestApiId": {"Ref": name}, "StageName": stage_name,
                   "DeploymentId": {"Ref": deployment_id}}
    if props.get("MethodSettings"):
        stage_props["MethodSettings"] = props["MethodSettings"]
    resources[f"{name}{stage_name}Stage"] = {"Type": "AWS::ApiGateway::Stage", "Properties": stage_props}


def _drop_v2_deployment(resources: dict, name: str) -> None:
    # ministack has no AWS::ApiGatewayV2::Deployment type; its stages serve the routes as
    # they are, which is what AutoDeploy means on AWS.
    del resources[name]
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::ApiGatewayV2::Stage" and props.get("DeploymentId") == {"Ref": name}:
            del props["DeploymentId"]
            props["AutoDeploy"] = True


def _attributes(resource: dict) -> dict:
    return {k: v for k, v in resource.items() if k in ("DependsOn", "Condition", "DeletionPolicy",
                                                        "UpdateReplacePolicy", "Metadata")}
