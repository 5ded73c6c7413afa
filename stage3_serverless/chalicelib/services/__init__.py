"""Use cases of the stage: thin routes and event handlers call these with the Dependencies."""
