"""Telemetry service: readings, summaries, idempotent batches; owner of reading.* events."""
