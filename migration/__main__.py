"""`python -m migration steps | step NAME | data --from A --to B`: the migration path's one CLI."""
from __future__ import annotations

import argparse
import sys

from migration.steps import STEP_NAMES, STEPS, step


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m migration", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("steps", help="print the step names in order, one per line")
    run = sub.add_parser("step", help="run one step in the foreground (launcher protocol)")
    run.add_argument("name", choices=STEP_NAMES)
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--data-dir", required=True)
    run.add_argument("--control", action="store_true",
                     help="read `cutover NAME` / `rollback NAME` commands from stdin")
    data = sub.add_parser("data", help="move a whole stage's data to the next stage's stores")
    data.add_argument("--from", dest="source", choices=("1", "2"), required=True)
    data.add_argument("--to", dest="target", choices=("2", "3"), required=True)
    data.add_argument("rest", nargs=argparse.REMAINDER)
    return p


def _split_data_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """(`data --from A --to B`, everything else in order): REMAINDER drops options given after them."""
    head, rest, i = ["data"], [], 1
    while i < len(argv):
        arg = argv[i]
        if arg in ("--from", "--to") and i + 1 < len(argv):
            head += argv[i:i + 2]
            i += 2
            continue
        (head if arg.startswith(("--from=", "--to=")) else rest).append(arg)
        i += 1
    return head, rest


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    extra: list[str] = []
    if argv[:1] == ["data"]:
        argv, extra = _split_data_args(argv)
        if len(argv) < 5 and {"-h", "--help"} & set(extra):
            argv, extra = argv + ["--help"], []  # `data --help` alone: this parser's help
    args = _parser().parse_args(argv)
    if args.command == "steps":
        for s in STEPS:
            print(s.name)
        return 0
    if args.command == "step":
        chosen = step(args.name)
        # Imported here: `steps` must work with no dependency installed.
        if chosen.edge == "envoy":
            from migration.edge import run_step
        else:
            from migration.apigw import run_step
        return run_step(chosen, host=args.host, port=args.port, data_dir=args.data_dir,
                        control=args.control)
    from migration.data.cli import main as data_main
    return data_main(args.source, args.target, args.rest + extra)


if __name__ == "__main__":
    sys.exit(main())
