"""`python -m stage1_monolith serve --host H --port P --data-dir D`."""
from __future__ import annotations

import argparse
import sys

from stage1_monolith.settings import Settings, SettingsError


def preflight(settings: Settings) -> None:
    """Cheap checks done before serving, so a bad data dir fails the start, not a request."""
    from stage1_monolith.keys import check_key_file

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    check_key_file(settings.signing_key_path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stage1_monolith", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the monolith in the foreground (gunicorn, one worker)")
    serve.add_argument("--host", default=None, help="bind address (default HOMESENSE_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default HOMESENSE_PORT or 8000)")
    serve.add_argument("--data-dir", default=None, help="SQLite file and signing key live here")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(host=args.host, port=args.port, data_dir=args.data_dir)
        preflight(settings)
    except (SettingsError, OSError) as exc:
        print(f"stage1: invalid settings: {exc}", file=sys.stderr)
        return 2
    from stage1_monolith.server import MonolithServer

    MonolithServer(settings).run()
    return 0
