"""Requests take turns once their body has arrived, a few at a time (config/turns.py).

Driven at the ASGI level with an application that answers only when the test says so, so
that who is inside and who waits can be read at every step."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, MutableMapping
from typing import Any

from config.turns import Turns

Message = MutableMapping[str, Any]


class Held:
    """An application whose answers the test releases one by one; records who got in."""

    def __init__(self) -> None:
        self.inside: list[str] = []
        self.go: dict[str, asyncio.Event] = {}
        self.after_start: dict[str, asyncio.Event] = {}

    async def __call__(self, scope: Message, receive: Callable[..., Any], send: Any) -> None:
        name = scope["path"]
        while (await receive()).get("more_body"):
            pass
        self.inside.append(name)
        await self.go.setdefault(name, asyncio.Event()).wait()
        if name.startswith("/fail"):
            raise RuntimeError("the view failed")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await self.after_start.setdefault(name, asyncio.Event()).wait()
        await send({"type": "http.response.body", "body": b"ok"})

    def answer(self, name: str) -> None:
        self.go.setdefault(name, asyncio.Event()).set()

    def finish_body(self, name: str) -> None:
        self.after_start.setdefault(name, asyncio.Event()).set()

    def complete(self, name: str) -> None:
        """Answer the request and send its whole body."""
        self.answer(name)
        self.finish_body(name)


def request(
    app: Turns, path: str, method: str = "POST", chunks: list[asyncio.Event] | None = None
) -> asyncio.Task[None]:
    """A request whose body comes in one piece, or in pieces each sent when its event is set."""
    pending = list(chunks or [])

    async def receive() -> Message:
        if pending:
            await pending.pop(0).wait()
            return {"type": "http.request", "body": b"x", "more_body": bool(pending)}
        return {"type": "http.request", "body": b"x", "more_body": False}

    async def send(message: Message) -> None:
        pass

    scope = {"type": "http", "method": method, "path": path}
    return asyncio.create_task(app(scope, receive, send))


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_requests_beyond_the_turns_wait_and_go_in_the_order_they_came() -> None:
    held = Held()
    app = Turns(held, 2)
    tasks = [request(app, f"/{n}") for n in ("a", "b", "c", "d")]
    await settle()
    assert held.inside == ["/a", "/b"]
    held.answer("/b")
    await settle()
    assert held.inside == ["/a", "/b", "/c"]
    held.answer("/a")
    await settle()
    assert held.inside == ["/a", "/b", "/c", "/d"]
    for name in ("/a", "/b", "/c", "/d"):
        held.complete(name)
    await asyncio.gather(*tasks)


async def test_an_upload_still_arriving_holds_no_turn() -> None:
    held = Held()
    app = Turns(held, 1)
    first, last = asyncio.Event(), asyncio.Event()
    upload = request(app, "/upload", chunks=[first, last])
    first.set()
    save = request(app, "/save")
    await settle()
    assert held.inside == ["/save"]
    last.set()  # the upload has arrived: it waits for the save's answer to start
    await settle()
    assert held.inside == ["/save"]
    held.complete("/save")
    await settle()
    assert held.inside == ["/save", "/upload"]
    held.complete("/upload")
    await asyncio.gather(upload, save)


async def test_a_turn_ends_when_the_answer_starts_so_a_slow_reader_holds_no_one_up() -> None:
    held = Held()
    app = Turns(held, 1)
    download = request(app, "/download", method="GET")
    page = request(app, "/page", method="GET")
    await settle()
    assert held.inside == ["/download"]
    held.answer("/download")  # its headers go out; its body is still being read slowly
    await settle()
    assert held.inside == ["/download", "/page"]
    held.complete("/page")
    held.finish_body("/download")
    await asyncio.gather(download, page)


async def test_a_request_that_fails_gives_its_turn_back() -> None:
    held = Held()
    app = Turns(held, 1)
    failing = request(app, "/fail")
    after = request(app, "/after")
    await settle()
    assert held.inside == ["/fail"]
    held.answer("/fail")
    await settle()
    assert isinstance(failing.exception(), RuntimeError)
    assert held.inside == ["/fail", "/after"]
    held.complete("/after")
    await after


async def test_the_write_queue_lets_pages_be_read_while_a_write_is_inside() -> None:
    held = Held()
    app = Turns(held, 1, writes_only=True)
    tasks = [request(app, "/save"), request(app, "/submit"), request(app, "/sheet", "GET")]
    await settle()
    assert held.inside == ["/save", "/sheet"]
    for name in ("/save", "/sheet", "/submit"):
        held.complete(name)
        await settle()
    await asyncio.gather(*tasks)
    assert held.inside == ["/save", "/sheet", "/submit"]
