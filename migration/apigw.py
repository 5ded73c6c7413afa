"""The 2x steps: API Gateway (the stage 3 REST API on ministack) in front of stage 2, then Lambda.

The front door is stage 3's own REST API, deployed from the template `chalice package` makes.
Every method of it is first an HTTP proxy integration to stage 2's Envoy; a step swaps the
methods of the groups it moves to the Lambda proxy integration (with the JWT authorizer where
the route needs a token). This is the "one API, integrations swapped per method" pattern: the
URL clients use never changes, and the last step is the unmodified stage 3 template.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from homesense_core.tokens import SigningKey
from migration.steps import LAMBDA, Step

READY_PREFIX = "HOMESENSE_READY "
INTEGRATION = "x-amazon-apigateway-integration"


def log(message: str) -> None:
    """Progress to stderr; stdout carries only the protocol lines."""
    print(f"[migration] {message}", file=sys.stderr, flush=True)


def group_of(path: str) -> str | None:
    """The route group of an API Gateway resource path (None: the catch-all routes)."""
    if path == "/health":
        return "health"
    if path in ("/users", "/auth/token", "/me", "/.well-known/jwks.json"):
        return "identity"
    if path.startswith("/devices/{device_id}/readings"):
        return "readings"
    if path.startswith("/devices"):
        return "devices"
    if path.startswith("/alerts"):
        return "alerts"
    return None


def owner_of(path: str, owners: dict[str, str]) -> str:
    """Who serves path; unknown routes (404s) follow /health, the default route of the strangler."""
    return owners[group_of(path) or "health"]


def http_proxy(path: str, method: str, backend_url: str) -> dict:
    """An HTTP_PROXY integration of one method to the same path on the backend."""
    names = [part[1:-1].rstrip("+") for part in path.split("/") if part.startswith("{")]
    target = path.replace("{proxy+}", "{proxy}")
    return {
        "type": "http_proxy", "httpMethod": method.upper(), "uri": backend_url.rstrip("/") + target,
        "passthroughBehavior": "when_no_match",
        "requestParameters": {f"integration.request.path.{n}": f"method.request.path.{n}" for n in names},
        "responses": {"default": {"statusCode": "200"}},
    }


def rewrite_template(packaged: dict, owners: dict[str, str], backend_url: str | None) -> dict:
    """The packaged template with every method not yet owned by Lambda proxied to backend_url."""
    template = copy.deepcopy(packaged)
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    for path, methods in body["paths"].items():
        if owner_of(path, owners) == LAMBDA:
            continue
        if backend_url is None:
            raise ValueError(f"{path} is not on Lambda at this step, but there is no backend URL")
        for method, spec in methods.items():
            spec[INTEGRATION] = http_proxy(path, method, backend_url)
            # The backend checks the token itself (Envoy's jwt_authn) and answers its own 401.
            spec.pop("security", None)
    return template


def signing_key(data_dir: Path) -> SigningKey:
    """The one key of this topology: stage 2's identity and stage 3's functions sign with it."""
    path = data_dir / "signing-key.pem"
    if path.exists():
        return SigningKey.from_pem(path.read_bytes())
    key = SigningKey.generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.private_pem())
    return key


def run_step(step: Step, host: str, port: int, data_dir: str, control: bool = False) -> int:
    """Run a 2x step in the foreground with the launcher protocol (README: docs/migration.md)."""
    # Imported here so `python -m migration steps` needs nothing installed.
    from stage2_microservices.local.runner import LocalTopology
    from stage2_microservices.services.identity.keys import KEY_FILE
    from stage3_serverless.infra.ministack_process import Ministack
    from stage3_serverless.infra.packaging import build_package
    from stage3_serverless.local import Interrupted, LocalSettings, deploy, lint, wait_healthy

    root = Path(data_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    stop, ready = threading.Event(), threading.Event()

    def on_signal(*_):
        stop.set()
        if not ready.is_set():
            raise Interrupted()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    key = signing_key(root)
    settings = LocalSettings.from_args(argparse.Namespace(host=host, port=port,
                                                          data_dir=str(root / "stage3")))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stack = Ministack(host, port, settings.data_dir, lambda_workers=settings.lambda_workers,
                      module="migration.ministack_edge")
    # Stage 2 runs in this process tree (not as a launcher child) so a cutover can reach its
    # databases and NATS directly; its gateway port is a free one, clients never see it.
    stage2 = LocalTopology(root / "stage2", host, 0,
                           progress=lambda m: print(f"[stage2] {m}", file=sys.stderr, flush=True))
    needs_stage2 = any(owner != LAMBDA for owner in step.owners.values())
    started = time.monotonic()
    try:
        if needs_stage2:
            (stage2.data_dir / "identity").mkdir(parents=True, exist_ok=True)
            key_path = stage2.data_dir / "identity" / KEY_FILE
            if not key_path.exists():
                key_path.write_text(key.private_pem())
                key_path.chmod(0o600)
            stage2.start()
            log(f"stage 2 ready at {stage2.base_url}")
        package = build_package(settings.chalice_stage, settings.build_dir, settings.project_dir, log=log)
        lint(package)
        stack.start()
        # The key exists before the stack deploys, so ensure_signing_key keeps it.
        stack.client("ssm").put_parameter(Name=settings.signing_key_parameter, Value=key.private_pem(),
                                          Type="SecureString", Overwrite=True)
        backend = stage2.base_url if needs_stage2 else None
        urls = deploy(settings, stack, package,
                      rewrite=lambda t: rewrite_template(t, step.owners, backend))
        lambda_ws_url = urls["ws_url"]
        if step.owners["push"] != LAMBDA:
            # An API Gateway WebSocket API invokes a backend per message; it cannot relay a
            # WebSocket to one, so the push channel stays on Envoy until it moves to Lambda.
            urls["ws_url"] = stage2.ws_url
        wait_healthy(urls["base_url"], settings.health_timeout_s)
        log(f"step {step.name} ready in {time.monotonic() - started:.1f} s")
        print(READY_PREFIX + json.dumps(urls), flush=True)
        ready.set()
        if control:
            from migration.apigw_cutover import Cutovers

            cutovers = Cutovers(step, stack, settings, package, stage2, urls["base_url"], lambda_ws_url)
            threading.Thread(target=cutovers.serve, args=(sys.stdin, stop), daemon=True,
                             name="control").start()
        while not stop.wait(1.0):
            if stack.process.poll() is not None:
                log(f"ministack exited with {stack.process.returncode}; see {stack.log_path}")
                return 1
            # After the last cutover stage 2 is stopped on purpose (cutovers.decommissioned).
            dead = [n for n, p in stage2.processes.items()
                    if needs_stage2 and not p.alive and not (control and cutovers.decommissioned)]
            if dead:
                log(f"stage 2 process {dead[0]} exited; see {stage2.logs}")
                return 1
        return 0
    except Interrupted:
        log("stopped before ready")
        return 0
    except Exception as exc:  # noqa: BLE001 - the launcher reports any failure and exits non-zero
        log(f"failed: {str(exc)[:3000]}")
        return 1
    finally:
        stack.stop()
        stage2.stop()
