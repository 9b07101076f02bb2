"""Django's ASGI handler, answering each request's middleware and view in one thread.

Django's own ASGI handler runs the middleware that can be async in the event loop and calls
into a thread for each piece that is sync only: with this project's middleware a request went
back and forth between the loop and its thread about ten times. Every view here is sync, so
the whole chain runs in the request's thread, entered once (bench/deadline_day.py: the bare
view's CPU per request 2.8 → 2.0 ms, the day's 14.2 → 13.2 ms).

Django also starts a new thread for every request, and a second one to wait for the first to
end; on deadline day starting and joining them took about a tenth of a web process's CPU.
Here a request's thread is kept for a later request once its work is done, as a WSGI server
keeps its threads: the thread-bound state Django keeps (the database connection object) is
closed at the end of each request as it is there, and the rest lives in the request's
context, which each request has its own of.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.http import FileResponse, HttpRequest

# Threads kept idle per process: more than the requests a process has in flight at once
# (HTTP_TURNS running, the others waiting for their body or their turn) are rarely needed.
MAX_IDLE_THREADS = 64


class RequestThread(ThreadPoolExecutor):
    """One request's thread (one worker), kept for a later request once its work is done."""

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="request")
        self._lock = threading.Lock()
        self._pending = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._lock:
            self._pending += 1
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _future: Future[Any]) -> None:
        with self._lock:
            self._pending -= 1

    @property
    def idle(self) -> bool:
        """No work left: a request whose client went away may still be running its view."""
        with self._lock:
            return self._pending == 0


class OneThreadHandler(ASGIHandler):
    def __init__(self) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self._idle: list[RequestThread] = []  # touched by the event loop only

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # As ASGIHandler.__call__, with the request's thread taken from those kept.
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        thread = self._idle.pop() if self._idle else RequestThread()
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            if thread.idle and len(self._idle) < MAX_IDLE_THREADS:
                self._idle.append(thread)
            else:
                thread.shutdown(wait=False)

    async def run_get_response(self, request: HttpRequest) -> Any:
        # As ASGIHandler.run_get_response, with the sync chain in the request's thread.
        response = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        response._handler_class = self.__class__  # type: ignore[attr-defined]  # as Django
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response
