"""Tests that judge exercises where a stage's own suite has no test of its own for the feature."""
