"""Alert events in, push messages out."""

from homesense_core.clock import parse_ts, utcnow
from homesense_core.events import EVENT_TYPES, client_reply, push_message
from homesense_core.model import Alert

from .hub import Hub


def _ts(value):
    return None if value is None else parse_ts(value)


def alert_from_event(payload: dict) -> Alert:
    """The Alert an alert.* event carries (public JSON plus owner_id)."""
    a = payload["alert"]
    return Alert(id=a["id"], device_id=a["device_id"], owner_id=payload["owner_id"], kind=a["kind"],
                 status=a["status"], level=a["level"], threshold=a["threshold"],
                 first_value=a["first_value"], last_value=a["last_value"],
                 reading_count=a["reading_count"], opened_at=parse_ts(a["opened_at"]),
                 acknowledged_at=_ts(a["acknowledged_at"]), resolved_at=_ts(a["resolved_at"]),
                 escalated_at=_ts(a["escalated_at"]), updated_at=parse_ts(a["updated_at"]))


class NotifierService:
    """Fans alert events out to the owner's connections on this replica."""

    def __init__(self, hub: Hub, clock=utcnow):
        self.hub, self.clock = hub, clock

    async def on_alert_event(self, event_type: str, payload: dict, msg_id: str) -> int:
        """Push {"type","alert","sent_at"}; returns how many sockets got it."""
        if event_type not in EVENT_TYPES:
            return 0
        alert = alert_from_event(payload)
        return await self.hub.push(alert.owner_id, push_message(event_type, alert, self.clock()))

    @staticmethod
    def reply_to(text: str) -> dict | None:
        """{"type":"pong"} for a ping, None for anything else."""
        return client_reply(text)
