"""`python -m bench.run [--smoke] [--out docs/bench]`: every stage and baseline under the same profiles.

Targets, one after another in one run (never two at once: they share the machine's cores):
baseline (bare Flask + sqlite3, with and without PyJWT, stage 1's gunicorn setup), stage 1, stage 2
through Envoy, stage 2's devices service called directly (what Envoy's jwt_authn would have set,
`x-homesense-user-id` and the bearer token it verifies itself, sent by the client), stage 3 on the local emulator.

HTTP profiles are driven by wrk (bench/wrk.lua) with a warm-up run before each measured run:
GET by id (1 and 16 connections), a page of readings with a cursor (16), POST of 1 reading (16),
POST of 500 readings (1), mixed read/write (16; every 5th request a 1-reading POST). Push latency
is bench/push.py on already-open sockets (4 clients, one crossing in flight each), plus the 16-client
mixed profile with push accounting (errors, lost pushes). Stage 3 also gets cold vs warm: the first
request after its functions' workers were replaced (an environment change, as a deploy does) vs
the requests after it. Results: `results.json`, then bench/report.py renders the table and charts.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bench import push
from contract_tests.launcher import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
WRK_SCRIPT = Path(__file__).with_name("wrk.lua")
STAGE_COMMANDS = {
    "baseline": ["-m", "bench.baseline"],
    "stage1": ["-m", "stage1_monolith", "serve"],
    "stage2": ["-m", "stage2_microservices.local", "up"],
    "stage3": ["-m", "stage3_serverless.local", "up"],
}
READY = "HOMESENSE_READY "


@dataclass
class Running:
    """A launched target (launcher protocol: one HOMESENSE_READY line on stdout)."""

    name: str
    process: subprocess.Popen
    root: Path
    info: dict
    started_s: float
    stderr_path: Path = field(init=False)

    def __post_init__(self):
        self.stderr_path = self.root / "stderr.log"

    def stop(self, keep_data: bool = False) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # start_new_session: pgid == pid
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        if not keep_data:
            shutil.rmtree(self.root, ignore_errors=True)


# The bench measures the stages, not their edge rate limiter: at the default 1000 req/s a fast
# stage answers most of a 16-client profile with 429s. Raised unless the caller sets them.
BENCH_LIMITS = {"HOMESENSE_RATE_LIMIT_RPS": "1000000", "HOMESENSE_RATE_LIMIT_BURST": "1000000"}


def start(name: str, timeout_s: float = 300, root: Path | None = None) -> Running:
    """Start a target on a free port (in a fresh temp dir unless given) and wait for its ready line."""
    root = root or Path(tempfile.mkdtemp(prefix=f"homesense-bench-{name}-"))
    cmd = [sys.executable, *STAGE_COMMANDS[name], "--host", "127.0.0.1", "--port", str(free_port()),
           "--data-dir", str(root / "data")]
    with open(root / "stderr.log", "wb") as err:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env={**BENCH_LIMITS, **os.environ, "PYTHONUNBUFFERED": "1"},
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                start_new_session=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(raw.decode(errors="replace")) for raw in proc.stdout],
                     daemon=True).start()
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s and proc.poll() is None:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line.startswith(READY):
            return Running(name, proc, root, json.loads(line[len(READY):]), time.monotonic() - t0)
    tail = (root / "stderr.log").read_text(errors="replace")[-3000:]
    Running(name, proc, root, {}, 0).stop()
    raise RuntimeError(f"{name} did not become ready:\n{tail}")


def wrk(url: str, connections: int, seconds: float, env: dict[str, str], timeout_s: int = 10) -> dict:
    """One wrk run; its BENCH_JSON line as a dict plus req/s and an error count."""
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"--timeout={timeout_s}s",
           "-s", str(WRK_SCRIPT), url]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env},
                         timeout=seconds + timeout_s + 30)
    match = re.search(r"^BENCH_JSON (.*)$", out.stdout, re.M)
    if not match:
        raise RuntimeError(f"wrk printed no result: {out.stdout[-500:]} {out.stderr[-500:]}")
    result = json.loads(match.group(1))
    result["rps"] = round(result["requests"] / (result["duration_us"] / 1e6), 1)
    result["errors"] = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors",
                                                "status_errors", "timeouts"))
    result["connections"] = connections
    return result


def _body_file(root: Path, count: int) -> Path:
    path = root / f"readings-{count}.json"
    path.write_text(json.dumps({"readings": [{"value": 20.0 + (i % 5) / 10} for i in range(count)]}))
    return path


def http_profiles(base_url: str, auth: dict[str, str], device: str, cursor_path: str, root: Path,
                  seconds: float, warmup: float, only: set[str] | None = None) -> dict:
    """The wrk profiles against one target; `auth` is BENCH_TOKEN or BENCH_USER_ID."""
    one, five_hundred = _body_file(root, 1), _body_file(root, 500)
    readings = f"{base_url}/devices/{device}/readings"
    profiles = {
        "get_by_id_c1": (f"{base_url}/devices/{device}", 1, {}),
        "get_by_id_c16": (f"{base_url}/devices/{device}", 16, {}),
        "list_page_c16": (f"{base_url}{cursor_path}", 16, {}),
        "post_1_c16": (readings, 16, {"BENCH_METHOD": "POST", "BENCH_BODY_FILE": str(one)}),
        "post_500_c1": (readings, 1, {"BENCH_METHOD": "POST", "BENCH_BODY_FILE": str(five_hundred)}),
        "mixed_c16": (f"{base_url}/devices/{device}", 16, {
            "BENCH_WRITE_EVERY": "5", "BENCH_WRITE_PATH": f"{_path_of(readings)}",
            "BENCH_BODY_FILE": str(one)}),
    }
    results = {}
    for name, (url, conns, env) in profiles.items():
        if only and name not in only:
            continue
        env = {**auth, **env}
        if warmup > 0:
            wrk(url, conns, warmup, env)
        results[name] = wrk(url, conns, seconds, env)
        print(f"   {name}: {results[name]['rps']} req/s, p50 {results[name]['p50_ms']:.1f} ms, "
              f"errors {results[name]['errors']}", file=sys.stderr, flush=True)
    return results


PROFILE_NAMES = ("get_by_id_c1", "get_by_id_c16", "list_page_c16", "post_1_c16", "post_500_c1", "mixed_c16")


def _path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def seed(base_url: str) -> tuple[push.Api, str, str]:
    """A user and a device with 60 readings; returns its API, device id and a second-page path."""
    api, device = push.setup_client(base_url)
    status, _ = api.call("POST", f"/devices/{device}/readings",
                         {"readings": [{"value": 20.0 + i / 100} for i in range(60)]})
    if status != 202:
        raise RuntimeError(f"seeding readings answered {status}")
    status, page = api.call("GET", f"/devices/{device}/readings?limit=10")
    cursor = (page or {}).get("next_cursor")
    path = f"/devices/{device}/readings?limit=10" + (f"&cursor={cursor}" if cursor else "")
    return api, device, path


def push_profiles(base_url: str, ws_url: str, seconds: float, clients: int, soak_s: float) -> dict:
    """Push latency on open sockets (one crossing in flight), then the 16-client mixed accounting."""
    # The HTTP profiles left readings in the stream/outbox; one crossing and its push, in order behind
    # them, waits until that backlog is handled so the push profiles measure push, not the backlog.
    push.run(base_url, ws_url, 1, 0.1, drain_s=180, reads=False)
    latency = push.run(base_url, ws_url, 4, seconds, drain_s=20, reads=False)
    mixed = push.run(base_url, ws_url, clients, soak_s, drain_s=30, reads=True)

    def summary(r: push.LoadResult) -> dict:
        lat = r.push_latencies_ms
        return {"clients": r.clients, "seconds": r.duration_s, "requests": r.requests,
                "rps": round(r.throughput, 1), "errors": len(r.errors), "first_errors": r.errors[:3],
                "expected_pushes": r.expected_pushes, "received_pushes": r.received_pushes,
                "lost_pushes": r.lost_pushes,
                "p50_ms": _r(push.percentile(lat, 50)), "p99_ms": _r(push.percentile(lat, 99)),
                "max_ms": _r(lat[-1] if lat else None)}

    out = {"push_latency_c4": summary(latency), "push_mixed_c16": summary(mixed)}
    for name, r in out.items():
        print(f"   {name}: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, lost {r['lost_pushes']}, "
              f"errors {r['errors']}", file=sys.stderr, flush=True)
    return out


def _r(value):
    return None if value is None else round(value, 1)


def cold_vs_warm(running: Running, api: push.Api, device: str, rounds: int) -> dict:
    """Stage 3: replace the API and authorizer workers (an environment change), then time requests."""
    import boto3

    endpoint = running.info["base_url"].split("/_aws/")[0]
    kwargs = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                  aws_secret_access_key="test")
    resources = boto3.client("cloudformation", **kwargs).list_stack_resources(
        StackName="homesense-local")["StackResourceSummaries"]
    names = [r["PhysicalResourceId"] for r in resources
             if r["ResourceType"] == "AWS::Lambda::Function" and r["LogicalResourceId"] in ("APIHandler", "JwtAuth")]
    lam = boto3.client("lambda", **kwargs)
    cold, warm = [], []
    for i in range(rounds):
        for name in names:
            variables = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
            variables["BENCH_GENERATION"] = f"{time.time()}-{i}"
            lam.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
        for j in range(6):
            t0 = time.perf_counter()
            status, _ = api.call("GET", f"/devices/{device}")
            elapsed = (time.perf_counter() - t0) * 1000
            if status != 200:
                raise RuntimeError(f"GET after a redeploy answered {status}")
            (cold if j == 0 else warm).append(elapsed)
    return {"rounds": rounds, "cold_ms": [round(x, 1) for x in cold],
            "cold_median_ms": round(statistics.median(cold), 1),
            "warm_median_ms": round(statistics.median(warm), 1)}


def first_request_after_restart(name: str) -> dict:
    """A second start of the stage on the same data dir (caches warm), to its first warm request.

    The first start (not timed) leaves what a developer's earlier `make stageN` leaves: an
    initialised database, a built package. The second is timed from launch to its ready line, then
    to the first authenticated GET by id (the user and device are set up in between, not timed).
    """
    first = start(name)
    first.stop(keep_data=True)
    t0 = time.monotonic()
    running = start(name, root=first.root)
    try:
        ready = time.monotonic() - t0
        base = running.info["base_url"]
        api, device = push.setup_client(base)
        t1 = time.perf_counter()
        api.call("GET", f"/devices/{device}")
        first = (time.perf_counter() - t1) * 1000
        return {"ready_s": round(ready, 1), "first_get_ms": round(first, 1),
                "note": "second start on the same data dir: launch to ready line, then the first GET by id "
                        "(register, token and device in between are not counted)"}
    finally:
        running.stop()


def _stage2_service_url(running: Running, service: str) -> str:
    text = running.stderr_path.read_text(errors="replace")
    match = re.search(rf"starting {service} on ([\d.]+:\d+)", text)
    if not match:
        raise RuntimeError(f"no 'starting {service} on' line in stage 2's log")
    return f"http://{match.group(1)}"


def bench_target(name: str, seconds: float, warmup: float, smoke: bool, results: dict,
                 soak_s: float = 60.0) -> None:
    print(f">> {name}", file=sys.stderr, flush=True)
    running = start(name)
    try:
        base = running.info["base_url"]
        work = running.root / "bench"
        work.mkdir()
        entry: dict = {"start_s": round(running.started_s, 1)}
        results[name] = entry  # filled in as the profiles finish
        only = {"get_by_id_c1", "post_1_c16"} if smoke else None
        if name == "baseline":
            token = running.info["token"]
            for route in ("plain", "jwt"):
                url = f"{base}/{route}/{running.info['id']}"
                for conns in (1, 16):
                    if warmup > 0:
                        wrk(url, conns, warmup, {"BENCH_TOKEN": token})
                    entry[f"{route}_get_c{conns}"] = wrk(url, conns, seconds, {"BENCH_TOKEN": token})
                    print(f"   {route} c{conns}: {entry[f'{route}_get_c{conns}']['rps']} req/s",
                          file=sys.stderr, flush=True)
            results[name] = entry
            return
        api, device, cursor_path = seed(base)
        auth = {"BENCH_TOKEN": api.token}
        if name == "stage2":
            # Envoy vs direct to the devices service, on the same running stage, each GET profile
            # back to back and before any write profile (whose readings the services then evaluate
            # in the background, which would tax whichever ran later).
            reads = {"get_by_id_c1"} if smoke else {"get_by_id_c1", "get_by_id_c16"}
            status, me = api.call("GET", "/me")
            direct = _stage2_service_url(running, "devices")
            results["stage2_direct"] = {"start_s": entry["start_s"]}
            for profile in sorted(reads):
                entry.update(http_profiles(base, auth, device, cursor_path, work, seconds, warmup, {profile}))
                results["stage2_direct"].update(http_profiles(
                    # The service verifies the token itself (no trust by network position); the
                    # user-id header is what Envoy would add beside it.
                    direct, {**auth, "BENCH_USER_ID": me["id"]}, device, cursor_path, work, seconds, warmup,
                    {profile}))
            rest = None if only is None else only
            entry.update(http_profiles(base, auth, device, cursor_path, work, seconds, warmup,
                                       {p for p in (rest or PROFILE_NAMES) if p not in reads}))
        else:
            entry.update(http_profiles(base, auth, device, cursor_path, work, seconds, warmup, only))
        entry.update(push_profiles(base, running.info["ws_url"], seconds if not smoke else 2,
                                   16 if not smoke else 4,
                                   2 if smoke else (soak_s if name == "stage3" else seconds)))
        if name == "stage3":
            entry["cold_vs_warm"] = cold_vs_warm(running, api, device, 1 if smoke else 3)
            print(f"   cold vs warm: {entry['cold_vs_warm']}", file=sys.stderr, flush=True)
        api.close()
        results[name] = entry
    finally:
        running.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--smoke", action="store_true", help="a few seconds per stage (CI)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--soak-seconds", type=float, default=60.0,
                        help="stage 3: 16 clients, mixed load with push accounting, this long")
    parser.add_argument("--targets", default="baseline,stage1,stage2,stage3")
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "bench"))
    parser.add_argument("--merge", action="store_true", help="update these targets in an existing results.json")
    parser.add_argument("--no-restart", action="store_true", help="skip the second-start measurements")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk; `make bench` does it)", file=sys.stderr)
        return 2
    seconds, warmup = (1.0, 0.0) if args.smoke else (args.seconds, args.warmup)
    results: dict = {"meta": {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "smoke": args.smoke,
        "seconds": seconds, "warmup_s": warmup, "cpus": os.cpu_count(),
        "loadavg_before": os.getloadavg()[0]}}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / ("smoke-results.json" if args.smoke else "results.json")
    if args.merge and path.exists():
        # Re-measure some targets into an earlier run (its meta says when each part ran).
        earlier = json.loads(path.read_text())
        results = {**earlier, **{k: v for k, v in results.items() if k != "meta"},
                   "meta": {**earlier.get("meta", {}), f"rerun_{'+'.join(t for t in args.targets.split(',') if t) or 'restart'}": results["meta"]}}

    def save() -> None:
        # After every target, so a failure late in a long run keeps what was measured.
        results["meta"]["loadavg_after"] = os.getloadavg()[0]
        path.write_text(json.dumps(results, indent=2) + "\n")

    crashed = []
    for name in [t for t in args.targets.split(",") if t]:
        try:
            bench_target(name, seconds, warmup, args.smoke, results, args.soak_seconds)
        except Exception as exc:  # noqa: BLE001 - recorded; the other targets still run
            crashed.append(f"{name}: {exc!r}")
            results.setdefault(name, {})["failed"] = repr(exc)
        save()
    if not args.smoke and not args.no_restart:
        results["restart"] = {}
        for n in ("stage1", "stage2", "stage3"):
            try:
                results["restart"][n] = first_request_after_restart(n)
            except Exception as exc:  # noqa: BLE001
                crashed.append(f"restart {n}: {exc!r}")
            save()
    save()
    print(f">> wrote {path}", file=sys.stderr)
    failures = crashed + [f"{target} {profile}: {r.get('errors')} errors, {r.get('lost_pushes', 0)} lost pushes"
                for target, entry in results.items() if target not in ("meta", "restart")
                for profile, r in entry.items() if isinstance(r, dict)
                and (r.get("errors") or r.get("lost_pushes"))]
    for failure in failures:
        print(f"!! {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
