"""The AWS deploy path without AWS: settings fail fast, and the template changes only in CodeUri."""

from __future__ import annotations

import json

import pytest

from stage3_serverless.deploy_aws import AwsSettings, with_code_in_s3


def test_settings_refuse_to_run_without_region_and_bucket():
    with pytest.raises(SystemExit, match="HOMESENSE_DEPLOY_BUCKET"):
        AwsSettings.from_env({"AWS_REGION": "eu-central-1"})
    with pytest.raises(SystemExit, match="AWS_REGION"):
        AwsSettings.from_env({"HOMESENSE_DEPLOY_BUCKET": "b"})


def test_settings_refuse_a_local_endpoint():
    env = {"AWS_REGION": "eu-central-1", "HOMESENSE_DEPLOY_BUCKET": "b", "AWS_ENDPOINT_URL": "http://x"}
    with pytest.raises(SystemExit, match="real AWS only"):
        AwsSettings.from_env(env)


def test_settings_map_the_homesense_variables_to_stack_parameters():
    settings = AwsSettings.from_env({"AWS_DEFAULT_REGION": "us-west-2", "HOMESENSE_DEPLOY_BUCKET": "b",
                                     "HOMESENSE_RATE_LIMIT_RPS": "5", "HOMESENSE_CORS_ORIGINS": "https://a",
                                     "HOMESENSE_LOGIN_CLIENT_FREE_FAILURES": "3"})
    assert settings.stack_name == "homesense-prod"
    assert settings.parameters() == {"RateLimitRps": "5", "RateLimitBurst": "2000", "CorsOrigins": "https://a",
                                     "SigningKeyParameterName": "/homesense/prod/signing-key",
                                     "ThrottleLimits": "HOMESENSE_LOGIN_CLIENT_FREE_FAILURES=3"}


def test_only_code_uris_change_for_aws(template):
    moved = with_code_in_s3(template, "s3://bucket/prefix/deployment.zip")
    functions = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"]
    assert functions and all(moved["Resources"][k]["Properties"]["CodeUri"] == "s3://bucket/prefix/deployment.zip"
                             for k in functions)
    for name in functions:
        moved["Resources"][name]["Properties"]["CodeUri"] = template["Resources"][name]["Properties"]["CodeUri"]
    assert json.dumps(moved, sort_keys=True) == json.dumps(template, sort_keys=True)
    assert moved["Transform"] == "AWS::Serverless-2016-10-31"
