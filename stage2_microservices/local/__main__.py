"""`python -m stage2_microservices.local up --host H --port P --data-dir D` (launcher protocol)."""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from stage2_microservices.local.processes import StartError
from stage2_microservices.local.runner import LocalTopology


class _StopRequested(Exception):
    """Raised by the signal handler so a start in progress unwinds."""


def _on_signal(signum, frame):
    # Further signals must not interrupt the orderly stop that follows.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise _StopRequested(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    """Run the topology in the foreground until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m stage2_microservices.local")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the whole stage 2 topology as local processes")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument("--data-dir", type=Path, default=Path("var/stage2"))
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    topo = LocalTopology(args.data_dir, args.host, args.port)
    try:
        topo.start()
        ready = {"base_url": topo.base_url, "ws_url": topo.ws_url}
        print("HOMESENSE_READY " + json.dumps(ready), flush=True)
        threading.Event().wait()
    except _StopRequested as stop:
        print(f"[stage2] {stop} received, stopping", file=sys.stderr, flush=True)
        return_code = 0
    except StartError as exc:
        print(f"[stage2] start failed: {exc}", file=sys.stderr, flush=True)
        return_code = 1
    finally:
        topo.stop()
    return return_code


if __name__ == "__main__":
    sys.exit(main())
