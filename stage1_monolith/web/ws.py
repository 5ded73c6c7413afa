"""WS /ws?token=...: the push channel; the token is checked before the upgrade."""
from flask import Blueprint, g, request
from flask_sock import Sock

from homesense_core.events import client_reply

from stage1_monolith.web.deps import authenticate, deps

bp = Blueprint("ws", __name__)
sock = Sock()

RECEIVE_TIMEOUT_S = 1.0  # how often a quiet connection notices a shutdown


@bp.before_app_request
def _check_token():
    # Runs before flask-sock performs the handshake, so a bad token is a plain 401 (no upgrade).
    if request.path == "/ws" and request.method != "OPTIONS":
        authenticate(request.args.get("token") or "")


@sock.route("/ws", bp=bp)
def push_channel(ws):
    hub, user_id = deps().hub, g.user_id
    hub.register(user_id, ws)
    try:
        while not hub.closing.is_set():
            message = ws.receive(timeout=RECEIVE_TIMEOUT_S)
            if message is None:
                continue
            reply = client_reply(message)
            if reply is not None:
                hub.send(ws, reply)
    finally:
        hub.unregister(user_id, ws)
