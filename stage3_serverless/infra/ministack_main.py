"""`python -m stage3_serverless.infra.ministack_main`: ministack with a bounded, queueing Lambda pool.

Local emulator only, never part of what goes to AWS. ministack 1.5.33 gives every concurrent
invocation its own warm worker and, when none is free, starts a fresh Python process (a cold start
of about 0.9 CPU-second for our functions: boto3, cryptography, chalice). AWS does the same, but
each of its execution environments has its own CPU; here they all share the developer's two cores.
Sixteen clients therefore meant 16 authorizer and 16 API workers starting at once, each cold start
taking seconds of wall time, the 5 s authorizer timeout killing workers mid-start, and the next
request starting them again: throughput fell from 42 to 1-13 req/s and never recovered.

ministack's own levers do not fit: `ReservedConcurrentExecutions` and `LAMBDA_ACCOUNT_CONCURRENCY`
throttle (a 429/500 to the client) rather than wait, by design (a blocking wait would deadlock a
handler that invokes itself). None of our functions invokes another Lambda (the gateway calls the
authorizer, then the API function, one after the other; the stream handler talks to DynamoDB,
Step Functions and the WebSocket callback, not to Lambda), so here a bounded pool that *waits* for
a free worker is deadlock-free: at most `HOMESENSE_STAGE3_LAMBDA_WORKERS` workers per function, and
an invocation beyond that queues until one is released, exactly like a request queueing for a
thread in stage 1's gunicorn.
"""

from __future__ import annotations

import os
import threading

from ministack.core import lambda_runtime
from ministack.services import lambda_svc

DEFAULT_WORKERS_PER_FUNCTION = 4


def install_bounded_pool(limit: int) -> None:
    """Make ministack's warm executor wait for one of at most `limit` workers per function."""
    if limit <= 0:
        return  # 0: ministack's own behaviour (a new worker per concurrent invocation)
    acquire = lambda_runtime.acquire_worker
    release = lambda_runtime.release_worker
    freed = threading.Condition()

    def acquire_bounded(func_name, config, code_zip, qualifier="$LATEST", max_concurrency=None):
        cap = min(limit, max_concurrency) if max_concurrency else limit
        with freed:
            while True:
                worker, reason = acquire(func_name, config, code_zip, qualifier=qualifier,
                                         max_concurrency=cap)
                if worker is not None or reason != "func_cap":
                    return worker, reason
                # The timeout only guards against a missed notify; a release always notifies.
                freed.wait(1.0)

    def release_bounded(worker) -> None:
        release(worker)
        with freed:
            freed.notify_all()

    # lambda_svc imported both names into its own namespace; its executors look them up there.
    lambda_svc.acquire_worker = acquire_bounded
    lambda_svc.release_worker = release_bounded


def install_problem_refusals() -> None:
    """The emulator's HTTP server refuses unparseable or oversized requests as problem+json.

    API Gateway answers every error of its own through a Gateway Response we map to problem+json
    (gateway_responses.py); the emulator's server (hypercorn, via ministack.app) answers a request
    it cannot parse (400) or whose headers are too large (431) before any of that, with an empty
    body. Same status, the contract's body (homesense_core.problems.protocol_problem).
    """
    import json
    from email.utils import formatdate

    import h11
    from hypercorn.protocol.h11 import H11Protocol

    from homesense_core.ids import new_id
    from homesense_core.problems import PROBLEM_CONTENT_TYPE, protocol_problem

    async def send_error_response(self, status_code: int) -> None:
        problem = protocol_problem(status_code)
        body = json.dumps(problem).encode()
        await self._send_h11_event(h11.Response(status_code=problem["status"], headers=[
            (b"content-type", PROBLEM_CONTENT_TYPE.encode()), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"), (b"x-request-id", new_id().encode()),
            (b"date", formatdate(usegmt=True).encode()), *self.config.response_headers("h11")]))
        await self._send_h11_event(h11.Data(data=body))
        await self._send_h11_event(h11.EndOfMessage())

    H11Protocol._send_error_response = send_error_response


def main() -> None:
    """Install the pool from the environment, then run ministack as `python -m ministack` does."""
    install_bounded_pool(int(os.environ.get("HOMESENSE_STAGE3_LAMBDA_WORKERS",
                                            str(DEFAULT_WORKERS_PER_FUNCTION))))
    from ministack.app import main as ministack_main

    # After ministack.app's import: it installs its own (empty-bodied) version of this method.
    install_problem_refusals()

    ministack_main()


if __name__ == "__main__":
    main()
