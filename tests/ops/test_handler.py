"""Each request's middleware and view run in its own thread, entered once (config/handler.py).

A middleware that can run either way (as most of this project's do) is the one Django's own
ASGI handler would run in the event loop, handing over to a thread and back for the rest."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path

from config.handler import OneThreadHandler

calls: list[tuple[str, int | str]] = []


class EitherWay:
    """A middleware that can be sync or async; notes where it ran."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self._in_the_loop(request)
        calls.append(("middleware", threading.get_ident()))
        return self.get_response(request)

    async def _in_the_loop(self, request: HttpRequest) -> Any:
        calls.append(("middleware", "event loop"))
        return await self.get_response(request)


def page(request: HttpRequest) -> HttpResponse:
    calls.append(("view", threading.get_ident()))
    return HttpResponse("Xin chào")


slow_started = threading.Event()
slow_may_end = threading.Event()


def slow(request: HttpRequest) -> HttpResponse:
    """A view that runs until the test lets it end (a large export, say)."""
    calls.append(("slow", threading.get_ident()))
    slow_started.set()
    slow_may_end.wait(10)
    return HttpResponse("Xong")


urlpatterns = [path("here/", page), path("slow/", slow)]


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def _get(handler: OneThreadHandler, path: str) -> bytes:
    app = ApplicationCommunicator(handler, _scope(path))
    await app.send_input({"type": "http.request", "body": b""})
    start = await app.receive_output(5)
    body = await app.receive_output(5)
    assert start["status"] == 200, start
    await app.wait(5)
    return bytes(body["body"])


async def _start_slow(handler: OneThreadHandler) -> ApplicationCommunicator:
    """A request to the slow view, returned once its view runs."""
    calls.clear()
    slow_started.clear()
    slow_may_end.clear()
    request = ApplicationCommunicator(handler, _scope("/slow/"))
    await request.send_input({"type": "http.request", "body": b""})
    while not slow_started.is_set():
        await asyncio.sleep(0.01)
    return request


SETTINGS = {
    "ROOT_URLCONF": __name__,
    "ALLOWED_HOSTS": ["testserver"],
    "SECURE_SSL_REDIRECT": False,
}


@override_settings(
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[*settings.MIDDLEWARE, f"{__name__}.EitherWay"],
    ALLOWED_HOSTS=["testserver"],
    SECURE_SSL_REDIRECT=False,
)
async def test_a_request_runs_its_whole_middleware_chain_and_view_in_one_thread() -> None:
    calls.clear()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/here/",
        "raw_path": b"/here/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    app = ApplicationCommunicator(OneThreadHandler(), scope)
    await app.send_input({"type": "http.request", "body": b""})
    start = await app.receive_output(5)
    body = await app.receive_output(5)
    assert start["status"] == 200, start
    assert body["body"] == "Xin chào".encode()
    (where, thread), (what, view_thread) = calls
    assert (where, what) == ("middleware", "view")
    assert thread == view_thread != threading.get_ident()


@override_settings(**SETTINGS)
async def test_a_request_is_answered_in_the_thread_an_earlier_one_finished_with() -> None:
    """No thread is started per request (Django starts two): one is kept for the next."""
    calls.clear()
    handler = OneThreadHandler()
    await _get(handler, "/here/")
    await _get(handler, "/here/")
    (_, first), (_, second) = calls
    assert first == second != threading.get_ident()


@override_settings(**SETTINGS)
async def test_requests_in_flight_at_once_each_have_a_thread_of_their_own() -> None:
    handler = OneThreadHandler()
    export = await _start_slow(handler)
    assert await _get(handler, "/here/") == "Xin chào".encode()  # not queued behind it
    slow_may_end.set()
    assert (await export.receive_output(5))["status"] == 200
    (_, slow_thread), (_, page_thread) = calls
    assert slow_thread != page_thread


@override_settings(**SETTINGS)
async def test_a_thread_still_running_the_view_of_a_client_gone_away_is_not_handed_on() -> None:
    """The next request is not made to wait for a view nobody is waiting for."""
    handler = OneThreadHandler()
    gone = await _start_slow(handler)
    await gone.send_input({"type": "http.disconnect"})
    await gone.wait(5)  # the handler returned, its view still running
    try:
        assert await _get(handler, "/here/") == "Xin chào".encode()
    finally:
        slow_may_end.set()
    (_, slow_thread), (_, page_thread) = calls
    assert slow_thread != page_thread
    # ... and that thread ends once the view is done, being kept by no one
    while any(t.ident == slow_thread for t in threading.enumerate()):
        await asyncio.sleep(0.01)
