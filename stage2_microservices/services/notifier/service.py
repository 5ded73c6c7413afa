"""Alert events in, push messages out."""

import logging

from homesense_core.clock import utcnow
from homesense_core.events import client_reply
from homesense_core.integration_events import AlertChanged, UnknownEvent, decode

from stage2_microservices.common.web import request_id_of

from .hub import Hub

log = logging.getLogger(__name__)


class NotifierService:
    """Fans alert events out to the owner's connections on this replica."""

    def __init__(self, hub: Hub, clock=utcnow):
        self.hub, self.clock = hub, clock

    async def on_alert_event(self, event_type: str, payload: dict, msg_id: str) -> int:
        """Push {"type","alert","sent_at"}; returns how many sockets got it."""
        try:
            event = decode(event_type, payload)
        except UnknownEvent:
            return 0
        if not isinstance(event, AlertChanged):
            return 0
        with request_id_of(event.request_id):
            # The alert's public JSON goes out as it came in: no domain object in between.
            sent = await self.hub.push(event.owner_id, event.push_message(self.clock()))
            log.info("%s pushed to %d connections", event.name, sent)
            return sent

    @staticmethod
    def reply_to(text: str) -> dict | None:
        """{"type":"pong"} for a ping, None for anything else."""
        return client_reply(text)
