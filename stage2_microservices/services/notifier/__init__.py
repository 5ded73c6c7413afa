"""Notifier service: WebSocket push of alert events to their owner's open connections."""
