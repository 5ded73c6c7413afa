"""DynamoDB single-table adapters of the storage ports (see TABLE.md)."""
