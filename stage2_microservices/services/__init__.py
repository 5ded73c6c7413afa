"""The five stage-2 services; each is self-contained (main, settings, routes, service, ports, memory, postgres, schema, tests)."""
