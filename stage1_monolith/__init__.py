"""HomeSense stage 1: the whole contract in one Flask process."""
