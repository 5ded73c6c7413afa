"""`python -m stage3_serverless.deploy_aws`: the packaged template, unmodified, onto real AWS."""

# The only step between `chalice package` and CloudFormation is the one `aws cloudformation package`
# performs: the code bundle goes to S3 and CodeUri names it. Credentials come from the usual boto3
# chain (environment, profile, SSO); nothing here stores or prints them.

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Mapping

import boto3

from homesense_core.throttle import limits_spec
from stage3_serverless.infra.cfn import deploy_stack, ensure_signing_key
from stage3_serverless.infra.packaging import Package, build_package, cfn_lint


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[deploy] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class AwsSettings:
    """What a real deployment needs, all from the environment."""

    region: str
    bucket: str
    stack_name: str
    chalice_stage: str
    signing_key_parameter: str
    rate_limit_rps: str
    rate_limit_burst: str
    cors_origins: str
    throttle_limits: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "AwsSettings":
        """Fail fast on anything missing rather than deploying half-configured."""
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        bucket = env.get("HOMESENSE_DEPLOY_BUCKET")
        missing = [n for n, v in (("AWS_REGION", region), ("HOMESENSE_DEPLOY_BUCKET", bucket)) if not v]
        if missing:
            raise SystemExit(f"set {', '.join(missing)} (see stage3_serverless/README.md)")
        if env.get("AWS_ENDPOINT_URL"):
            raise SystemExit("AWS_ENDPOINT_URL is set: this command deploys to real AWS only")
        stage = env.get("HOMESENSE_CHALICE_STAGE", "prod")
        return cls(
            region=region, bucket=bucket,
            stack_name=env.get("HOMESENSE_STACK_NAME", f"homesense-{stage}"),
            chalice_stage=stage,
            signing_key_parameter=env.get("HOMESENSE_SIGNING_KEY_PARAMETER", f"/homesense/{stage}/signing-key"),
            rate_limit_rps=env.get("HOMESENSE_RATE_LIMIT_RPS", "1000"),
            rate_limit_burst=env.get("HOMESENSE_RATE_LIMIT_BURST", "2000"),
            cors_origins=env.get("HOMESENSE_CORS_ORIGINS", "*"),
            throttle_limits=limits_spec(env),
        )

    def parameters(self) -> dict[str, str]:
        """Stack parameters (the same names the local launcher fills in)."""
        return {"RateLimitRps": self.rate_limit_rps, "RateLimitBurst": self.rate_limit_burst,
                "CorsOrigins": self.cors_origins, "SigningKeyParameterName": self.signing_key_parameter,
                "ThrottleLimits": self.throttle_limits}


def with_code_in_s3(template: dict, code_uri: str) -> dict:
    """What `aws cloudformation package` does: every local CodeUri points at the uploaded bundle."""
    out = json.loads(json.dumps(template))
    for resource in out["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = code_uri
    return out


def main() -> int:
    """Package, lint, upload, create the signing key if absent, create or update the stack."""
    settings = AwsSettings.from_env()
    package: Package = build_package(settings.chalice_stage, log=log)
    problems = cfn_lint(package)
    if problems is not None:
        log(f"cfn-lint failed:\n{problems}")
        return 1
    session = boto3.session.Session(region_name=settings.region)
    s3 = session.client("s3")
    prefix = f"{settings.stack_name}/{package.source_hash[:16]}"
    s3.upload_file(str(package.zip_path), settings.bucket, f"{prefix}/deployment.zip")
    template = with_code_in_s3(package.template(), f"s3://{settings.bucket}/{prefix}/deployment.zip")
    # The packaged template exceeds the 51,200-byte TemplateBody limit, so it goes through S3 too.
    s3.put_object(Bucket=settings.bucket, Key=f"{prefix}/template.json", Body=json.dumps(template).encode())
    ensure_signing_key(session.client("ssm"), settings.signing_key_parameter, log)
    outputs = deploy_stack(
        session.client("cloudformation"), settings.stack_name, parameters=settings.parameters(),
        template_url=f"https://{settings.bucket}.s3.{settings.region}.amazonaws.com/{prefix}/template.json",
        log=log, poll_s=5)
    base_url = outputs["EndpointURL"].rstrip("/")
    ws_url = outputs["WebsocketConnectEndpointURL"].rstrip("/")
    log(f"deployed {settings.stack_name}; contract suite: make contract BASE_URL={base_url} WS_URL={ws_url}")
    print(json.dumps({"base_url": base_url, "ws_url": ws_url}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
