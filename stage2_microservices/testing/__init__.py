"""Test helpers of stage 2 (real PostgreSQL and NATS, servers in threads); never copied into an image."""
