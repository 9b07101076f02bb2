"""Request bodies checked before they are read: an ASGI layer in front of Django.

Django's ASGI handler reads a request's whole body (to memory, then to a temporary file)
before any middleware, authentication or upload handler runs. This layer looks at the
headers first and answers without reading anything when
- the declared length is over the limit of the address (413, naming the limit in MB): the
  evidence and survey uploads accept their files' limit, everything else a small default;
- a body over a few kilobytes comes from someone not signed in (401): no session or API
  token that signs a user in;
and, while Django reads a body, bounds how long the client may take: no part of it for
REQUEST_BODY_IDLE_SECONDS, or not all of it after REQUEST_BODY_MAX_SECONDS, and the
connection is answered 408 and closed (the request changed nothing; other requests are
served meanwhile). A body without a declared length (chunked) is counted as it arrives.

The answers are in the user's language: JSON {"detail", "errors"} under /api/, a plain page
elsewhere. docs/deploy.md gives the matching settings of the reverse proxy.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from importlib import import_module
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections
from django.http import HttpRequest
from django.template import loader
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from ops.unavailable import API_PREFIX
from ops.unavailable import _language as language_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Loose on the arguments: Django's handler declares its own (narrower) scope and message types.
ASGIApp = Callable[..., Awaitable[None]]

MB = 1024 * 1024
# Room for the form fields and boundaries around an uploaded file.
MULTIPART_ROOM = MB
DISCONNECT: Message = {"type": "http.disconnect"}


def upload_limits_mb() -> dict[str, int]:
    """URL name → the largest file (whole MB, rounded up) the view behind it accepts."""
    from web.uploads import UPLOAD_KINDS, file_limits_mb

    limits = file_limits_mb()
    return {name: math.ceil(limits[kind]) for name, kind in UPLOAD_KINDS.items()}


def limit_of(path: str) -> tuple[int, bool]:
    """(the limit in MB, whether it is a file upload's) for a request path."""
    try:
        name = resolve(path).view_name
    except Resolver404:
        name = ""
    uploads = upload_limits_mb()
    if name in uploads:
        return uploads[name], True
    return int(settings.REQUEST_BODY_MAX_MB), False


def signed_in(headers: dict[str, str]) -> bool:
    """Whether the request's API token or session cookie signs a user in (as DRF and
    Django's authentication would decide it)."""
    from config.auth import token_signs_in

    close_old_connections()
    try:
        by_token = token_signs_in(headers.get("authorization", ""))
        if by_token is not None:
            return by_token
        cookies = SimpleCookie()
        cookies.load(headers.get("cookie", ""))
        morsel = cookies.get(settings.SESSION_COOKIE_NAME)
        if morsel is None or not morsel.value:
            return False
        from django.contrib.auth import get_user

        request = HttpRequest()
        request.session = import_module(settings.SESSION_ENGINE).SessionStore(morsel.value)
        return bool(get_user(request).is_authenticated)
    finally:
        close_old_connections()


class BodyLimits:
    """The ASGI layer; wraps Django's HTTP application in config/asgi.py."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope.get("headers", [])
        }
        try:
            declared: int | None = int(headers["content-length"])
        except (KeyError, ValueError):
            declared = None
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if not declared and not chunked:  # no body: nothing to check (probes, pages, GETs)
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit_mb, is_upload = limit_of(path.removeprefix(scope.get("root_path", "")) or "/")
        limit = limit_mb * MB + (MULTIPART_ROOM if is_upload else 0)
        if declared is not None and declared > limit:
            await self.refuse(scope, send, 413, too_large(limit_mb, is_upload))
            return
        large = chunked or (declared or 0) > settings.ANONYMOUS_BODY_MAX_KB * 1024
        if large and not await sync_to_async(signed_in)(headers):
            await self.refuse(scope, send, 401, sign_in_first())
            return

        refused = False
        complete = False
        received = 0
        started = time.monotonic()

        async def timed_receive() -> Message:
            nonlocal refused, complete, received
            if refused:
                return DISCONNECT
            if complete:  # Django listens for the client leaving: no deadline for that
                return await receive()
            left = settings.REQUEST_BODY_MAX_SECONDS - (time.monotonic() - started)
            try:
                message = await asyncio.wait_for(
                    receive(), max(0.0, min(settings.REQUEST_BODY_IDLE_SECONDS, left))
                )
            except TimeoutError:
                refused = True
                await self.refuse(scope, send, 408, too_slow())
                return DISCONNECT
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await self.refuse(scope, send, 413, too_large(limit_mb, is_upload))
                    return DISCONNECT
                complete = not message.get("more_body", False)
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:  # once refused here, Django has nothing more to say
                await send(message)

        await self.app(scope, timed_receive, guarded_send)

    @staticmethod
    async def refuse(scope: Scope, send: Send, status: int, text: Callable[[], str]) -> None:
        request = ASGIRequest(scope, io.BytesIO())  # headers and cookies only: no body
        language = language_of(request) or settings.LANGUAGE_CODE
        with translation.override(language):
            message = text()
            if request.path.startswith(API_PREFIX):
                content_type = "application/json"
                body = json.dumps({"detail": message, "errors": []}, ensure_ascii=False)
            else:
                content_type = "text/html; charset=utf-8"
                body = loader.get_template("refused.html").render(
                    {"message": message, "LANGUAGE_CODE": language}
                )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type.encode()),
                    (b"content-language", language.encode()),
                    (b"cache-control", b"no-store"),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})


def too_large(limit_mb: int, is_upload: bool) -> Callable[[], str]:
    def text() -> str:
        limit = number_format(limit_mb)
        if is_upload:
            return _("The file is larger than the limit of %(limit)s MB.") % {"limit": limit}
        return _("The request is larger than the limit of %(limit)s MB.") % {"limit": limit}

    return text


def sign_in_first() -> Callable[[], str]:
    return lambda: _("Sign in first: nothing you sent was received.")


def too_slow() -> Callable[[], str]:
    return lambda: _(
        "The connection was too slow and has been closed: nothing was saved. Try again."
    )
