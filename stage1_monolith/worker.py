"""gunicorn's threaded worker, with new connections parked in its poller until they send bytes.

The stock gthread worker hands every accepted connection to a pool thread, which then waits up
to 5 s for the request to start. Clients that connect and say nothing (idle browsers, port
scanners, a slowloris) therefore occupy all threads and every other client waits: 64 idle
connections stalled stage 1 for seconds. Here a new connection costs a poller entry, not a
thread; it reaches the pool once readable, and one that stays silent for `keepalive` seconds is
closed, as gunicorn already does for idle keep-alive connections.
"""
from __future__ import annotations

import errno
import selectors
import time
from functools import partial

from gunicorn.workers.gthread import TConn, ThreadWorker


class PollingThreadWorker(ThreadWorker):
    """gthread with accept() deferring silent connections to the poller."""

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())  # non-blocking
        # The same deadline rule as gunicorn's deferred connections, so pending_conns stays sorted.
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ,
                             partial(self.on_pending_socket_readable, conn))
