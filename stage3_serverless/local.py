"""`python -m stage3_serverless.local up`: the packaged template deployed onto a local ministack."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from homesense_core.tokens import SigningKey, TokenIssuer
from homesense_core.throttle import limits_spec
from stage3_serverless.infra.cfn import deploy_stack, ensure_signing_key
from stage3_serverless.infra.localize import localize
from stage3_serverless.infra.ministack_process import Ministack
from stage3_serverless.infra.packaging import DEFAULT_BUILD_DIR, PROJECT_DIR, Package, build_package, cfn_lint

READY_PREFIX = "HOMESENSE_READY "


class Interrupted(BaseException):
    """SIGTERM/SIGINT arrived while starting (a BaseException, so no library swallows it)."""


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the ready line."""
    print(f"[stage3] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class LocalSettings:
    """Everything the local launcher reads from its arguments and environment."""

    host: str
    port: int
    data_dir: Path
    project_dir: Path
    build_dir: Path
    chalice_stage: str
    stack_name: str
    code_bucket: str
    signing_key_parameter: str
    rate_limit_rps: float
    rate_limit_burst: int
    cors_origins: str
    health_timeout_s: float
    lambda_workers: int
    throttle_limits: str = ""

    @classmethod
    def from_args(cls, args: argparse.Namespace, env: Mapping[str, str] = os.environ) -> "LocalSettings":
        """Arguments plus the HOMESENSE_* variables of INTERFACES.md."""
        rps = float(env.get("HOMESENSE_RATE_LIMIT_RPS", "1000"))
        burst = int(env.get("HOMESENSE_RATE_LIMIT_BURST", "2000"))
        if rps < 0 or burst < 0:
            raise SystemExit("HOMESENSE_RATE_LIMIT_RPS/BURST must not be negative")
        workers = int(env.get("HOMESENSE_STAGE3_LAMBDA_WORKERS", "4"))
        if workers < 0:
            raise SystemExit("HOMESENSE_STAGE3_LAMBDA_WORKERS must not be negative (0: ministack's own pool)")
        return cls(
            host=args.host, port=args.port, data_dir=Path(args.data_dir).resolve(),
            # Another Chalice project may be deployed with the same tooling (used while developing it).
            project_dir=Path(env.get("HOMESENSE_STAGE3_PROJECT_DIR", str(PROJECT_DIR))).resolve(),
            build_dir=Path(env.get("HOMESENSE_STAGE3_BUILD_DIR", str(DEFAULT_BUILD_DIR))).resolve(),
            chalice_stage="local", stack_name="homesense-local", code_bucket="homesense-local-code",
            signing_key_parameter="/homesense/local/signing-key",
            rate_limit_rps=rps, rate_limit_burst=burst,
            cors_origins=env.get("HOMESENSE_CORS_ORIGINS", "*") or "*",
            health_timeout_s=float(env.get("HOMESENSE_STAGE3_HEALTH_TIMEOUT", "90")),
            lambda_workers=workers,
            throttle_limits=limits_spec(env),
        )

    def parameters(self) -> dict[str, str]:
        """The stack parameters; the same names take the production values in deploy_aws."""
        return {"RateLimitRps": f"{self.rate_limit_rps:g}", "RateLimitBurst": str(self.rate_limit_burst),
                "CorsOrigins": self.cors_origins, "SigningKeyParameterName": self.signing_key_parameter,
                "ThrottleLimits": self.throttle_limits}


def lint(package: Package) -> None:
    """cfn-lint the packaged (unmodified) template once per package."""
    marker = package.directory / ".cfn-lint-ok"
    if marker.exists():
        return
    problems = cfn_lint(package)
    if problems is not None:
        raise RuntimeError(f"cfn-lint failed on {package.template_path}:\n{problems}")
    marker.write_text("ok\n")


def deploy(settings: LocalSettings, stack: Ministack, package: Package,
           rewrite: Callable[[dict], dict] | None = None) -> dict[str, str]:
    """Upload the code, deploy the localized template, create the key; returns the URLs.

    rewrite, if given, changes the packaged template first (the migration steps swap integrations).
    """
    s3 = stack.client("s3")
    try:
        s3.create_bucket(Bucket=settings.code_bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    code_key = f"{package.source_hash[:16]}/deployment.zip"
    s3.upload_file(str(package.zip_path), settings.code_bucket, code_key)
    ensure_signing_key(stack.client("ssm"), settings.signing_key_parameter, log)
    packaged = package.template()
    if rewrite is not None:
        packaged = rewrite(packaged)
    template = localize(packaged, code_bucket=settings.code_bucket, code_key=code_key,
                        endpoint_url=stack.endpoint_url, log=log)
    # Like on AWS, a template over 51,200 bytes must come from S3.
    template_key = f"{package.source_hash[:16]}/template.json"
    s3.put_object(Bucket=settings.code_bucket, Key=template_key, Body=json.dumps(template).encode())
    outputs = deploy_stack(stack.client("cloudformation"), settings.stack_name,
                           template_url=f"{stack.endpoint_url}/{settings.code_bucket}/{template_key}",
                           parameters=settings.parameters(), log=log)
    prefix = f"{stack.endpoint_url}/_aws/execute-api"
    ws_prefix = prefix.replace("http://", "ws://", 1)
    rest_stage = packaged["Resources"]["RestAPI"]["Properties"]["StageName"]
    ws_stage = packaged["Resources"]["WebsocketAPIStage"]["Properties"]["StageName"]
    return {"base_url": f"{prefix}/{outputs['RestAPIId']}/{rest_stage}",
            "ws_url": f"{ws_prefix}/{outputs['WebsocketAPIId']}/{ws_stage}"}


def export_line(urls: Mapping[str, str]) -> str:
    """A shell line that sets BASE and WS the way the README walkthrough uses them."""
    return f"export BASE={shlex.quote(urls['base_url'])} WS={shlex.quote(urls['ws_url'])}"


def wait_healthy(base_url: str, timeout_s: float) -> None:
    """GET /health through the local API Gateway until it answers 200 (first call is a cold start)."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=30) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}: {exc.read()[:300]!r}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.5)
    raise RuntimeError(f"GET {base_url}/health did not answer 200 within {timeout_s:.0f} s ({last})")


def prewarm(stack: Ministack, settings: LocalSettings, base_url: str, workers: int) -> float:
    """Start `workers` workers of the authorizer's and the API function's pools; returns seconds.

    `workers` concurrent `GET /me` calls with a token for a user that does not exist: each runs
    the authorizer (verify: SSM key, RS256) and then the API function (a DynamoDB read, then a 401
    problem), so both pools fill with workers whose imports and clients are ready, and the first
    real burst of clients pays no cold start. Errors are ignored: a worker that failed to warm
    simply starts on first use.
    """
    if workers <= 0:
        return 0.0
    started = time.monotonic()
    pem = stack.client("ssm").get_parameter(Name=settings.signing_key_parameter,
                                            WithDecryption=True)["Parameter"]["Value"]
    token = TokenIssuer(SigningKey.from_pem(pem)).issue("0" * 26, "prewarm", expires_in=300)

    def call(_):
        request = urllib.request.Request(f"{base_url}/me", headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            exc.read()
        except (urllib.error.URLError, OSError):
            pass

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(call, range(workers)))
    return time.monotonic() - started


def up(settings: LocalSettings) -> int:
    """Start, deploy, announce, then serve until SIGTERM/SIGINT."""
    started = time.monotonic()
    stop = threading.Event()
    ready = threading.Event()

    def on_signal(*_):
        stop.set()
        if not ready.is_set():
            raise Interrupted()  # abort a long start (packaging, deploy) right away

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stack = Ministack(settings.host, settings.port, settings.data_dir, lambda_workers=settings.lambda_workers)
    try:
        package = build_package(settings.chalice_stage, settings.build_dir, settings.project_dir, log=log)
        log(f"package {'reused' if package.reused else 'built'}: {package.directory}")
        lint(package)
        stack.start()
        log(f"ministack up on {stack.endpoint_url} (pid {stack.process.pid})")
        urls = deploy(settings, stack, package)
        wait_healthy(urls["base_url"], settings.health_timeout_s)
        # One authorizer and API worker before the ready line (the first request is warm), the rest
        # of the pool right after it, in the background: each cold start costs ~1 CPU-second and a
        # request that arrives meanwhile waits for a free worker rather than starting its own.
        log(f"pre-warmed the first authorizer and API worker in "
            f"{prewarm(stack, settings, urls['base_url'], min(1, settings.lambda_workers)):.1f} s")
        log(f"ready in {time.monotonic() - started:.1f} s")
        print(READY_PREFIX + json.dumps(urls), flush=True)
        # The REST URL carries the API id and stage, unlike stages 1 and 2: give the reader a line to paste.
        print(export_line(urls), file=sys.stderr, flush=True)
        ready.set()
        if settings.lambda_workers > 1:
            threading.Thread(target=lambda: log(
                f"pre-warmed {settings.lambda_workers} authorizer and API workers in "
                f"{prewarm(stack, settings, urls['base_url'], settings.lambda_workers):.1f} s"),
                name="prewarm", daemon=True).start()
        while not stop.wait(1.0):
            if stack.process.poll() is not None:
                log(f"ministack exited with {stack.process.returncode}; see {stack.log_path}")
                return 1
        return 0
    except Interrupted:
        log("stopped before ready")
        return 0
    except Exception as exc:  # noqa: BLE001 - the launcher reports any failure and exits non-zero
        text = str(exc)
        log(f"failed: {text[:3000]}{' ...' if len(text) > 3000 else ''}")
        return 1
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    """CLI entry point (launcher protocol of docs/dev/INTERFACES.md)."""
    parser = argparse.ArgumentParser(prog="python -m stage3_serverless.local")
    sub = parser.add_subparsers(dest="command", required=True)
    up_cmd = sub.add_parser("up", help="package, deploy to a local ministack and serve")
    up_cmd.add_argument("--host", default="127.0.0.1")
    up_cmd.add_argument("--port", type=int, default=8000)
    up_cmd.add_argument("--data-dir", default="var/stage3")
    args = parser.parse_args(argv)
    return up(LocalSettings.from_args(args))


if __name__ == "__main__":
    sys.exit(main())
