"""Data moves between the stages' stores: per resource group, copy (idempotent upsert) and verify."""
