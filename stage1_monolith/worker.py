"""gunicorn's threaded worker, with connections parked in its poller until their request head is in.

The stock gthread worker hands every accepted connection to a pool thread, which then waits up
to 5 s for the request to start. Clients that connect and say nothing (idle browsers, port
scanners, a slowloris) therefore occupy all threads and every other client waits: 64 idle
connections stalled stage 1 for seconds. Here a new connection costs a poller entry, not a
thread; it reaches the pool once its request HEAD has arrived whole, and one whose head is not
complete within `keepalive` seconds is closed, as gunicorn already does for idle keep-alive
connections. Waiting for the whole head, not the first byte, is what stops a slowloris (a client
that sends a header byte now and then) from holding a thread: gunicorn's own worker hands the
connection over at the first byte and the thread then blocks on the rest.

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


# The end of a request head. A head larger than this is handed over as it is, so that gunicorn's
# own limits (limit_request_line, limit_request_fields) answer it.
HEAD_END = b"\r\n\r\n"
MAX_BUFFERED_HEAD = 64 * 1024


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

    # Both kinds of waiting connection (new and kept-alive) buffer their head in the poller.
    def on_pending_socket_readable(self, conn, client):
        if self._head_complete(conn, self.pending_conns):
            super().on_pending_socket_readable(conn, client)

    def on_client_socket_readable(self, conn, client):
        if self._head_complete(conn, self.keepalived_conns):
            super().on_client_socket_readable(conn, client)

    def _head_complete(self, conn, waiting) -> bool:
        """Read what arrived (non-blocking); True once the head is whole (or too big to wait for).
        The connection keeps its deadline meanwhile, so murder_pending/murder_keepalived close a
        head that never completes."""
        try:
            chunk = conn.sock.recv(8192)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            chunk = b""
        head = getattr(conn, "buffered_head", b"") + chunk
        conn.buffered_head = head
        if chunk and HEAD_END not in head and len(head) < MAX_BUFFERED_HEAD:
            return False
        if not chunk and not head:  # closed before sending anything: nothing to hand over
            self.poller.unregister(conn.sock)
            waiting.remove(conn)
            self.nr_conns -= 1
            conn.close()
            return False
        return True  # whole, too big, or closed mid-head (the parser reports that)

    def handle(self, conn):
        head = getattr(conn, "buffered_head", b"")
        if head:
            # The bytes read in the poller go back in front of the parser, in a pool thread.
            conn.buffered_head = b""
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(head)
        return super().handle(conn)
