"""Alert use cases: evaluate reading events in order, escalate due alerts, read and acknowledge."""

import logging
from dataclasses import replace
from typing import Callable

from homesense_core.alerts import acknowledge, alert_events, as_accepted, evaluate_batch
from homesense_core.clock import utcnow
from homesense_core.cursor import ALERTS, keyset_page
from homesense_core.escalation import escalate, escalation_due_at
from homesense_core.integration_events import DeviceChanged, ReadingsAccepted, decode
from homesense_core.model import Alert, alert_to_json
from homesense_core.problems import ServiceUnavailable, not_found, owned
from homesense_core.queries import parse_alerts_query

from stage2_microservices.common.devices_client import DeviceDirectory
from stage2_microservices.common.uow import UnitOfWork
from stage2_microservices.common.web import current_request_id, request_id_of

log = logging.getLogger(__name__)

READINGS_CONSUMER = "alerts-readings"
DEVICES_CONSUMER = "alerts-devices"


async def _announce(uow: UnitOfWork, before: Alert | None, after: Alert) -> None:
    for event in alert_events(before, after):
        await uow.add_event(replace(event, request_id=current_request_id()))


class AlertService:
    """The event-driven part of the contract; every change and its event commit together."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], devices: DeviceDirectory,
                 on_commit: Callable[[], None] = lambda: None, clock=utcnow):
        self.uow, self.devices, self.on_commit, self.clock = uow_factory, devices, on_commit, clock

    # --- events in ---------------------------------------------------------------------

    async def on_readings(self, event_type: str, payload: dict, msg_id: str) -> None:
        """reading.accepted: apply the rule to each reading in array order (once per message)."""
        event = decode(event_type, payload)
        if not isinstance(event, ReadingsAccepted):
            return
        with request_id_of(event.request_id):
            await self._apply_readings(event, msg_id)

    async def _apply_readings(self, event: ReadingsAccepted, msg_id: str) -> None:
        device = event.device
        now = self.clock()
        async with self.uow() as uow:
            if not await uow.first_delivery(READINGS_CONSUMER, msg_id):
                return
            projected = await uow.devices.upsert(device)
            if projected.deleted:
                await uow.commit()  # remember the message; a deleted device raises nothing
                return
            device = as_accepted(projected.device, event.device)
            after = device.escalation_after_seconds
            transitions, _ = evaluate_batch(device, [r.value for r in event.readings],
                                            await uow.alerts.active_for_device(device.id), now)
            changed: dict[str, Alert] = {}
            for t in transitions:
                changed[t.alert.id] = t.alert  # only the last state of each alert is stored
                await _announce(uow, t.before, t.alert)
            for alert in changed.values():
                await uow.alerts.save(alert, escalation_due_at(alert, after))
            await uow.commit()
        self.on_commit()
        log.info("%s: %d readings, %d transitions", event.name, len(event.readings), len(transitions))

    async def on_device(self, event_type: str, payload: dict, msg_id: str) -> None:
        """device.*: keep the projection; a deletion drops the device's alerts."""
        event = decode(event_type, payload)
        if not isinstance(event, DeviceChanged):
            return
        with request_id_of(event.request_id):
            await self._apply_device(event, msg_id)

    async def _apply_device(self, event: DeviceChanged, msg_id: str) -> None:
        device = event.device
        async with self.uow() as uow:
            if not await uow.first_delivery(DEVICES_CONSUMER, msg_id):
                return
            if event.change == "deleted":
                await uow.devices.mark_deleted(device)
                await uow.alerts.delete_for_device(device.id)
            else:
                projected = await uow.devices.upsert(device)
                if not projected.deleted:
                    # escalation_after_seconds may have changed: due times follow the device.
                    after = projected.device.escalation_after_seconds
                    for alert in await uow.alerts.open_for_device(device.id):
                        await uow.alerts.save(alert, escalation_due_at(alert, after))
            await uow.commit()

    # --- the escalation workflow ----------------------------------------------------------

    async def escalate_due(self, limit: int = 50) -> int:
        """Escalate every alert whose due time has passed; returns how many escalated."""
        now = self.clock()
        escalated = 0
        async with self.uow() as uow:
            due = await uow.alerts.due(now, limit)
            projections = await uow.devices.get_many({a.device_id for a in due})
            for alert in due:
                projected = projections.get(alert.device_id)
                if projected is None or projected.deleted:
                    await uow.alerts.save(alert, None)
                    continue
                after = projected.device.escalation_after_seconds
                new = escalate(alert, after, now)
                if new is not None:
                    escalated += 1
                    await _announce(uow, alert, new)
                    alert = new
                await uow.alerts.save(alert, escalation_due_at(alert, after))
            await uow.commit()
        if escalated:
            self.on_commit()
        return escalated

    # --- requests ----------------------------------------------------------------------

    async def list_alerts(self, owner_id: str, query) -> dict:
        """Newest first, only alerts of devices not deleted (as far as device events have told us)."""
        q = parse_alerts_query(query)
        after = ALERTS.position(q.cursor)
        async with self.uow() as uow:
            device_ids = await uow.alerts.device_ids(owner_id)
            if q.device_id is not None:
                device_ids &= {q.device_id}
            projected = await uow.devices.get_many(device_ids)
        visible = await self._visible_devices(owner_id, device_ids, projected)
        async with self.uow() as uow:
            rows = await uow.alerts.page(owner_id, visible, q.status, after, q.limit + 1)
        return keyset_page(rows, q.limit, alert_to_json, ALERTS.of)

    async def _visible_devices(self, owner_id: str, device_ids: set[str], projected: dict) -> set[str]:
        """Devices whose alerts show: the projection decides, devices is asked only about the unseen."""
        # Trusting the projection keeps /alerts up while devices is down. The price: a deletion
        # hides alerts once its device.deleted event is consumed (well under a second after the
        # 204), not at the 204 itself; the contract allows that. on_readings projects a device in
        # the transaction that stores its first alert, so the read-through is a safety net.
        visible = {i for i, p in projected.items() if not p.deleted}
        for device_id in device_ids - projected.keys():
            if await self._exists_upstream(owner_id, device_id):
                visible.add(device_id)
        return visible

    async def _exists_upstream(self, owner_id: str, device_id: str) -> bool:
        """Read-through fallback for a device the projection never saw."""
        try:
            return await self.devices.owned(owner_id, device_id) is not None
        except ServiceUnavailable:
            # An alert exists only because a reading event carried this device and its owner,
            # so the alert's own record is enough to show it until devices answers again.
            return True

    async def _visible(self, owner_id: str, alert_id: str) -> Alert:
        async with self.uow() as uow:
            alert = await uow.alerts.get(alert_id)
            projected = await uow.devices.get_many({alert.device_id}) if alert is not None else {}
        owned(alert, owner_id, "Alert")
        if not await self._visible_devices(owner_id, {alert.device_id}, projected):
            raise not_found("Alert")
        return alert

    async def get_alert(self, owner_id: str, alert_id: str) -> dict:
        """One alert of a device the caller still owns."""
        return alert_to_json(await self._visible(owner_id, alert_id))

    async def acknowledge_alert(self, owner_id: str, alert_id: str) -> dict:
        """Acknowledge (idempotent); 409 when resolved; stops escalation."""
        await self._visible(owner_id, alert_id)
        async with self.uow() as uow:
            alert = await uow.alerts.get(alert_id, for_update=True)
            if alert is None:
                raise not_found("Alert")
            acked, changed = acknowledge(alert, self.clock())
            if changed:
                await uow.alerts.save(acked, None)
                await _announce(uow, alert, acked)
                await uow.commit()
        if changed:
            self.on_commit()
        return alert_to_json(acked)
