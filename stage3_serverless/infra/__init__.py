"""Packaging and deployment of the stage 3 Chalice app (local ministack and AWS)."""
