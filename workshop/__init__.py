"""Tooling for the workshop in docs/workshop/: graded exercises and the checks that keep the docs honest."""
