"""The migration path between the three stages: named steps, cutovers and data moves.

`steps.py` is the strangler map (which component serves which route group at each step);
`edge.py` runs the 1x steps (Envoy in front of the monolith, services extracted one by one),
`apigw.py` the 2x steps (API Gateway in front of stage 2, resources moved to Lambda), and
`data/` moves and verifies a resource's rows between the stages' stores.
"""
