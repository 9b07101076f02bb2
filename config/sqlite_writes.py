"""The embedded default's writers take turns in the order they came (an ASGI layer).

SQLite lets one transaction write at a time; the others wait in its busy handler, which
polls with growing sleeps and serves nobody in order: with 32 units saving at once, a save
could lose the race for longer than the busy timeout and fail (bench/embedded.py: 16 to 25
of 1,632 requests answered 503). Here, requests that may write (not GET, HEAD, OPTIONS)
queue in arrival order once their body has arrived, SQLITE_WRITERS at a time, so the
database sees few writers and each gets its turn. Reading pages is not held up, and a slow
upload waits in the queue only after it has been received.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class WriteQueue:
    def __init__(self, app: Callable[..., Awaitable[None]], writers: int) -> None:
        self.app = app
        self.writers = writers
        self._turns: asyncio.Semaphore | None = None  # made in the server's event loop

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        if self._turns is None:
            self._turns = asyncio.Semaphore(self.writers)
        turns = self._turns
        holding = False

        async def queued_receive() -> Message:
            nonlocal holding
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body") and not holding:
                await turns.acquire()  # FIFO: waiters are served in the order they came
                holding = True
            return message

        try:
            await self.app(scope, queued_receive, send)
        finally:
            if holding:
                turns.release()
