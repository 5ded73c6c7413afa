"""Runs the stage-2 topology as local processes (no Docker); see runner.LocalTopology."""
