"""One blueprint per resource; each route parses, calls a service, and returns JSON."""
