"""Requests take turns in the order they came, a few at a time in each process (ASGI layers).

Django answers each request in a thread of its own. Under uvicorn every request that has
arrived runs at once, so with a hundred users one worker ran about fifty threads that took
turns at the interpreter lock with the event loop. The loop, which reads the request
bodies, then got the lock one time in fifty: on deadline day (bench/deadline_day.py, 100
clients) a 1 MB upload waited 12 s at the 95th percentile while a save took 1.5 s. Here a
request waits for its turn once its body has arrived, `HTTP_TURNS` at a time; the loop keeps
reading everyone's bodies meanwhile, and the upload's p95 came down to that of a save.

The embedded default (SQLite) adds a second queue for the requests that may write (not
GET, HEAD, OPTIONS), `SQLITE_WRITERS` (1) at a time. SQLite lets one transaction write at a
time; the others wait in its busy handler, which polls with growing sleeps and serves nobody
in order: with 32 units saving at once, a save could lose the race for longer than the busy
timeout and fail (bench/embedded.py: 16 to 25 of 1,632 requests answered 503).

A turn ends when the answer starts: the view's transaction has committed by then, and a
slow reader of a large file holds nobody up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Turns:
    """`slots` requests at a time go on to `app`; with `writes_only`, reads pass freely."""

    def __init__(
        self, app: Callable[..., Awaitable[None]], slots: int, *, writes_only: bool = False
    ) -> None:
        self.app = app
        self.slots = slots
        self.writes_only = writes_only
        self._turns: asyncio.Semaphore | None = None  # made in the server's event loop

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http" or (self.writes_only and scope["method"] in SAFE_METHODS):
            await self.app(scope, receive, send)
            return
        if self._turns is None:
            self._turns = asyncio.Semaphore(self.slots)
        turns = self._turns
        holding = False

        def give_back() -> None:
            nonlocal holding
            if holding:
                holding = False
                turns.release()

        async def queued_receive() -> Message:
            nonlocal holding
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body") and not holding:
                await turns.acquire()  # FIFO: waiters are served in the order they came
                holding = True
            return message

        async def answered_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                give_back()
            await send(message)

        try:
            await self.app(scope, queued_receive, answered_send)
        finally:
            give_back()
