"""Adapters: storage ports and their in-memory and SQLAlchemy implementations."""
