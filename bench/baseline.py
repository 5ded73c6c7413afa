"""The baselines: a bare Flask app under the same gunicorn setup as stage 1 (1 gthread worker).

`GET /plain/<id>`: a sqlite3 primary-key lookup, JSON out. `GET /jwt/<id>`: the same after a PyJWT
RS256 verification of the bearer token. They are what stage 1's GET by id costs at the least with
the same framework, driver and token check: the target is stage 1 >= 0.80x of `/jwt/<id>`.

`python -m bench.baseline --port P --data-dir D --threads 64` prints `HOMESENSE_READY {...}` with a
token and an existing id, like the stages' launcher protocol.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import threading
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, abort, jsonify, request
from gunicorn.app.base import BaseApplication

ROW_ID = "01BENCHBASELINE0000000000"


def create_app(db_path: Path, public_key) -> Flask:
    """Two routes; one sqlite3 connection per thread (as stage 1's pool gives one per request)."""
    app = Flask("baseline")
    local = threading.local()

    def db() -> sqlite3.Connection:
        if not hasattr(local, "conn"):
            local.conn = sqlite3.connect(db_path, check_same_thread=False)
        return local.conn

    def lookup(item_id: str):
        row = db().execute("SELECT id, name, room FROM devices WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            abort(404)
        return jsonify({"id": row[0], "name": row[1], "room": row[2]})

    @app.get("/plain/<item_id>")
    def plain(item_id):
        return lookup(item_id)

    @app.get("/jwt/<item_id>")
    def with_jwt(item_id):
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            jwt.decode(token, public_key, algorithms=["RS256"], audience="homesense-api")
        except jwt.PyJWTError:
            abort(401)
        return lookup(item_id)

    return app


class _Server(BaseApplication):
    def __init__(self, app, options):
        self.application, self.options = app, options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--threads", type=int, default=64)
    args = parser.parse_args()
    data = Path(args.data_dir)
    data.mkdir(parents=True, exist_ok=True)
    db_path = data / "baseline.sqlite3"
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS devices (id TEXT PRIMARY KEY, name TEXT, room TEXT)")
        conn.execute("INSERT OR REPLACE INTO devices VALUES (?, 'Hall', 'hall')", (ROW_ID,))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    token = jwt.encode({"sub": "baseline", "aud": "homesense-api", "iat": now, "exp": now + 3600},
                       key, algorithm="RS256")
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    base = f"http://{args.host}:{args.port}"
    options = {"bind": f"{args.host}:{args.port}", "workers": 1, "worker_class": "gthread",
               "threads": args.threads, "keepalive": 5, "accesslog": None, "loglevel": "warning",
               "when_ready": lambda _server: print("HOMESENSE_READY " + json.dumps(
                   {"base_url": base, "ws_url": "", "token": token, "id": ROW_ID}), flush=True)}
    _Server(create_app(db_path, serialization.load_pem_public_key(public)), options).run()


if __name__ == "__main__":
    main()
