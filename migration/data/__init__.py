"""Data moves between the stages' stores, one resource group at a time, each verified.

`sqlite_pg`: stage 1's SQLite file -> stage 2's per-service PostgreSQL databases.
`pg_dynamo`: stage 2's databases -> stage 3's single DynamoDB table (+ Step Functions executions).
`cli`: `python -m migration data --from 1 --to 2` (or 2 -> 3), the whole stage at once.
Every copy is an idempotent, resumable mirror; every verify compares counts and per-owner checksums.
"""
