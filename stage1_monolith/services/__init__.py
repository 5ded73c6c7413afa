"""Use cases of the monolith: thin orchestration of homesense_core rules over a unit of work."""
