"""HomeSense stage 3: the Chalice app (REST API, authorizer, stream handler, WebSocket handlers)."""

from chalice import Chalice

from chalicelib import container, logs, web
from chalicelib.routes import accounts, alerts, auth, devices, pages, readings
from chalicelib.services import processing, websocket
from chalicelib.settings import Settings
from chalicelib.streams import events_of

app = Chalice(app_name="homesense")
# Chalice sets its logger ("homesense", ours too) to ERROR; the one-line-per-invocation log is INFO.
logs.configure(app.log)
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.register_middleware(web.edge, "http")
for blueprint in (auth.auth, accounts.bp, devices.bp, readings.bp, alerts.bp, pages.bp):
    app.register_blueprint(blueprint)
web.complete_routes(app)


@app.on_dynamodb_record(stream_arn=Settings.stream_arn_from_env(), batch_size=100)
def on_table_change(event):
    """Evaluate accepted readings, push alert changes, purge deleted devices: in stream order."""
    records = event.to_dict().get("Records", [])
    events = events_of(records)
    logs.record(stream_records=len(records), events=len(events))
    processing.handle(container.get(), events)


@app.on_ws_connect()
def on_ws_connect(event):
    """Accept the connection only with a valid ?token= (401 before the upgrade otherwise)."""
    params = event.to_dict().get("queryStringParameters") or {}
    deps = container.get()
    status = websocket.connect(deps, event.connection_id, params.get("token"),
                               websocket.callback_endpoint(deps, event.domain_name, event.stage))
    logs.record(ws="connect", connection_id=event.connection_id, status=status)
    return {"statusCode": status}


@app.on_ws_message()
def on_ws_message(event):
    """Answer {"action":"ping"} with {"type":"pong"}; ignore anything else."""
    deps = container.get()
    reply = websocket.message(deps, event.connection_id,
                              websocket.callback_endpoint(deps, event.domain_name, event.stage), event.body)
    logs.record(ws="message", connection_id=event.connection_id, replied=reply is not None)


@app.on_ws_disconnect()
def on_ws_disconnect(event):
    """Forget the connection."""
    websocket.disconnect(container.get(), event.connection_id)
    logs.record(ws="disconnect", connection_id=event.connection_id)
