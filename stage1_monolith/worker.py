"""gunicorn's threaded worker, with new connections parked in its poller until they send bytes.

The stock gthread worker hands every accepted connection to a pool thread, which then waits up
to 5 s for the request to start. Clients that connect and say nothing (idle browsers, port
scanners, a slowloris) therefore occupy all threads and every other client waits: 64 idle
connections stalled stage 1 for seconds. Here a new connection costs a poller entry, not a
thread; it reaches the pool once readable, and one that stays silent for `keepalive` seconds is
closed, as gunicorn already does for idle keep-alive connections.

Two more departures from stock gunicorn, both about what a client sees: the errors gunicorn
answers itself (an unparseable request line, a request line or headers over its limits) are
problem+json like every other error (homesense_core.problems.protocol_problem), not an HTML
page; and no response names the server software in a `Server` header.
"""
from __future__ import annotations

import errno
import selectors
import time
from functools import partial

from gunicorn.http import wsgi
from gunicorn.workers.gthread import TConn, ThreadWorker

from homesense_core.ids import new_id
from homesense_core.problems import protocol_problem_response


class _AnonymousResponse(wsgi.Response):
    """gunicorn's response writer without the `Server: gunicorn` line (it helps only attackers)."""

    def default_headers(self):
        return [line for line in super().default_headers() if not line.startswith("Server:")]


class _ProblemSocket:
    """Where gunicorn's handle_error writes its HTML error page: problem+json goes out instead.

    handle_error decides the status (400, 414, 431, 500...) and logs; only its body is replaced,
    so the mapping from gunicorn's exceptions to statuses stays gunicorn's.
    """

    def __init__(self, sock):
        self._sock = sock

    def sendall(self, data: bytes) -> None:
        status = int(data.split(b" ", 2)[1])  # "HTTP/1.1 431 Request Header Fields Too Large"
        self._sock.sendall(protocol_problem_response(status, [("X-Request-Id", new_id())]))

    def __getattr__(self, name):
        return getattr(self._sock, name)


class PollingThreadWorker(ThreadWorker):
    """gthread with accept() deferring silent connections to the poller, and quieter answers."""

    def init_process(self):
        # wsgi.create() builds its writer from this module attribute; replaced in the worker
        # process only (after the fork), before it serves its first request.
        wsgi.Response = _AnonymousResponse
        super().init_process()

    def handle_error(self, req, client, addr, exc):
        super().handle_error(req, _ProblemSocket(client), addr, exc)

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
