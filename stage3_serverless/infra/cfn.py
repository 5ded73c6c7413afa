"""CloudFormation create-or-update and the signing key, shared by the local and AWS targets."""

from __future__ import annotations

import time
from typing import Callable

from botocore.exceptions import ClientError

from homesense_core.tokens import SigningKey

_DONE_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
_IN_PROGRESS_SUFFIX = "_IN_PROGRESS"
Log = Callable[[str], None]


class DeployFailed(RuntimeError):
    """The stack did not reach a complete state; the message carries the failed events."""


def _stack(cfn, name: str) -> dict | None:
    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def _failure_reasons(cfn, name: str) -> str:
    events = cfn.describe_stack_events(StackName=name).get("StackEvents", [])
    failed = [f"{e.get('LogicalResourceId')}: {e.get('ResourceStatus')} {e.get('ResourceStatusReason', '')}"
              for e in events if "FAILED" in e.get("ResourceStatus", "")]
    return "\n".join(failed[:20]) or "(no failed resource events)"


def deploy_stack(cfn, name: str, *, parameters: dict[str, str], template_body: str | None = None,
                 template_url: str | None = None, log: Log = lambda _m: None,
                 timeout_s: float = 1800, poll_s: float = 0.5) -> dict[str, str]:
    """Create the stack, or update it in place; returns its outputs once it is complete."""
    source = {"TemplateBody": template_body} if template_body is not None else {"TemplateURL": template_url}
    args = dict(StackName=name, Parameters=[{"ParameterKey": k, "ParameterValue": str(v)}
                                            for k, v in parameters.items()],
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
                **source)
    existing = _stack(cfn, name)
    if existing is None or existing["StackStatus"] == "ROLLBACK_COMPLETE":
        if existing is not None:
            # A stack whose creation failed can only be deleted, never updated.
            cfn.delete_stack(StackName=name)
            _wait(cfn, name, timeout_s, poll_s, gone_ok=True)
        log(f"cloudformation: creating stack {name}")
        cfn.create_stack(**args)
    else:
        log(f"cloudformation: updating stack {name}")
        try:
            cfn.update_stack(**args)
        except ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
            log("cloudformation: stack already up to date")
    stack = _wait(cfn, name, timeout_s, poll_s)
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _wait(cfn, name: str, timeout_s: float, poll_s: float, gone_ok: bool = False) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stack = _stack(cfn, name)
        if stack is None:
            if gone_ok:
                return {}
            raise DeployFailed(f"stack {name} disappeared")
        status = stack["StackStatus"]
        if status in _DONE_OK:
            return stack
        if not status.endswith(_IN_PROGRESS_SUFFIX) and not (gone_ok and status == "DELETE_COMPLETE"):
            raise DeployFailed(f"stack {name} ended in {status}:\n{_failure_reasons(cfn, name)}")
        if gone_ok and status == "DELETE_COMPLETE":
            return {}
        time.sleep(poll_s)
    raise DeployFailed(f"stack {name} not complete after {timeout_s:.0f} s")


def ensure_signing_key(ssm, name: str, log: Log = lambda _m: None) -> bool:
    """Create the RS256 key as a SecureString unless it exists; True when created."""
    try:
        ssm.get_parameter(Name=name, WithDecryption=False)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ParameterNotFound":
            raise
    pem = SigningKey.generate().private_pem()
    try:
        ssm.put_parameter(Name=name, Value=pem, Type="SecureString", Overwrite=False,
                          Description="HomeSense RS256 token signing key (PEM)")
    except ClientError as exc:
        # Another deploy created it first; theirs wins so issued tokens stay valid.
        if exc.response.get("Error", {}).get("Code") != "ParameterAlreadyExists":
            raise
        return False
    log(f"ssm: created signing key parameter {name}")
    return True
