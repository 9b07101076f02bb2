"""Each request's middleware and view run in its own thread, entered once (config/handler.py).

A middleware that can run either way (as most of this project's do) is the one Django's own
ASGI handler would run in the event loop, handing over to a thread and back for the rest."""

from __future__ import annotations

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


urlpatterns = [path("here/", page)]


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
