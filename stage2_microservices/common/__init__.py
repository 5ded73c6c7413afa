"""Stage-2 infrastructure shared by the services: settings, Postgres, outbox, JetStream, HTTP edges.

Rules live in homesense_core; nothing here decides domain behaviour.
"""
