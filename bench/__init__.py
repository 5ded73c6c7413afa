"""HomeSense performance lab: load profiles, baselines, cost model (`make bench`)."""
