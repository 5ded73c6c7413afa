"""`python -m contract_tests.run_all --jobs 2 --stage 1 2 3 --step 1a 1b`: many suites, a few at a time.

Each run is the unchanged suite against one stage or migration step, in its own pytest process
(each starts its deployments on free ports, so runs never collide). Most of a run is waiting
(alerts, escalations, cold starts), so two at a time on two cores take about half as long.
Every run's output goes to a log file; a failed run's tail is printed, and the exit code is
non-zero if any run failed (including pytest's 5, "no tests ran").
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_one(kind: str, name: str, log_dir: Path, extra: list[str]) -> tuple[str, int, float, str]:
    """One suite; (label, exit code, seconds, last summary line)."""
    label = f"{kind} {name}"
    log = log_dir / f"{kind}-{name}.log"
    began = time.monotonic()
    with open(log, "wb") as out:
        code = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                "contract_tests", f"--{kind}", name, *extra],
                               cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    lines = log.read_text(errors="replace").strip().splitlines()
    return label, code, time.monotonic() - began, lines[-1] if lines else "(no output)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contract_tests.run_all")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--stage", nargs="*", default=[])
    parser.add_argument("--step", nargs="*", default=[])
    parser.add_argument("--log-dir", default="var/contract-runs")
    parser.add_argument("pytest_args", nargs="*", help="passed to every run (after --)")
    args = parser.parse_args(argv)
    runs = [("stage", s) for s in args.stage] + [("step", s) for s in args.step]
    if not runs:
        parser.error("nothing to run: give --stage and/or --step")
    log_dir = (REPO / args.log_dir).resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f">> contract suite against {len(runs)} deployments, {args.jobs} at a time; logs in {log_dir}",
          flush=True)
    failed = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_one, kind, name, log_dir, args.pytest_args) for kind, name in runs]
        for future in futures:
            label, code, seconds, summary = future.result()
            print(f"   {label:<8} {'ok ' if code == 0 else 'FAILED'} {seconds:6.0f} s  {summary}", flush=True)
            if code != 0:
                failed.append(label)
    for label in failed:
        kind, name = label.split()
        tail = (log_dir / f"{kind}-{name}.log").read_text(errors="replace")[-6000:]
        print(f"\n--- {label}: last lines of its log ---\n{tail}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
