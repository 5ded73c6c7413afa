"""Alerts service: applies the alert rule to reading events, escalates, serves /alerts."""
