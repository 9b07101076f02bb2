"""The live server of the browser tests: answers without Nagle's delay, and can be waited on
until no request is in flight."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from django.core.servers.basehttp import ThreadedWSGIServer


class NoDelayServer(ThreadedWSGIServer):
    """Django's threaded test server, with two changes.

    It answers without Nagle's delay: Django's server writes a response's headers and body in
    two sends, so on a kept-alive connection the body waited for the client's delayed
    acknowledgement, 40 ms per request (production's uvicorn sets TCP_NODELAY itself).

    It counts the connections it is serving, so that a test's teardown can wait for the last
    request a closed page left in flight: a request still writing (a socket ticket, a save)
    while the database is emptied makes the emptying fail on its foreign keys."""

    _serving = 0
    _changed = threading.Condition()

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    def process_request(self, request: Any, client_address: Any) -> None:
        with NoDelayServer._changed:
            NoDelayServer._serving += 1
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with NoDelayServer._changed:
                NoDelayServer._serving -= 1
                NoDelayServer._changed.notify_all()


def wait_until_idle(timeout: float = 10.0) -> None:
    """Return once no connection is being served (or after `timeout` seconds, so a hung
    connection shows as the test's own failure rather than a stuck run)."""
    deadline = time.monotonic() + timeout
    with NoDelayServer._changed:
        while NoDelayServer._serving > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            NoDelayServer._changed.wait(left)
