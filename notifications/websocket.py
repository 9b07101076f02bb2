"""The live push: `/ws/notifications/`, one connection per open page.

Each page of a user joins that user's group on the channel layer; `notifications.delivery`
sends every new notification to the group after commit, so every open tab of the recipient,
and nobody else, receives it. A socket is opened with a single-use ticket obtained over the
API (`?ticket=…`; `notifications.sockets`) and closes when the credential behind the ticket
ends. Browsers always send an Origin on a WebSocket handshake: it must be this site's own
(scheme, host and port) or a trusted one, as for Django's CSRF check, so another site cannot
open a socket from its page.

Frames the page may send: {"type": "ping"} → {"type": "pong"}; {"type": "ack", "id": N} to
confirm it received notification N (recorded as proof of notice; N is read here, the
service takes a number). Anything else, an ack without a number included, gets an
{"type": "error"} frame and the connection stays open.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import URLRouter
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.urls import path
from django.utils.http import is_same_domain
from django.utils.translation import gettext as _

from cases.inputs import row_id
from notifications import services, sockets
from notifications.delivery import user_group

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
CREDENTIAL_ENDED = 4401  # signed out, token revoked or expired, account deactivated
TRY_AGAIN_LATER = 4013  # 1013 "try again later", in the range an application may send

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class NotificationConsumer(AsyncWebsocketConsumer):
    group: str | None = None
    credential: sockets.Credential | None = None
    watch: asyncio.Task[None] | None = None
    ended = False

    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        ticket = (query.get("ticket") or [""])[0]
        credential = await database_sync_to_async(sockets.redeem_ticket)(ticket)
        if credential is None:
            # Refused before the handshake completes, with the policy-violation code. (Daphne
            # answers such a refusal with HTTP 403: it may send only 1000 or 3000–4999 once
            # the socket is open, so accepting first to close with 1008 would fail there.)
            await self.close(code=POLICY_VIOLATION)
            return
        user = credential.user
        self.scope["user"] = user
        try:
            await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        except Exception:
            log.warning("channel layer unavailable; page of user %s told to retry", user.pk)
            await self.accept()
            await self.close(code=TRY_AGAIN_LATER)
            return
        self.group, self.credential = user_group(user.pk), credential
        await self.accept()
        unread = await database_sync_to_async(services.unread_count)(user)
        await self.send_json({"type": "hello", "unread": unread})
        self.watch = asyncio.create_task(self.keep_checking(credential))

    async def keep_checking(self, credential: sockets.Credential) -> None:
        """Close the socket once its credential no longer signs its user in (the first check
        at a random point of the period, so that pages opened together spread their checks)."""
        period = float(settings.WEBSOCKET_RECHECK_SECONDS)
        await asyncio.sleep(period * random.uniform(0.5, 1.0))
        while True:
            try:
                holds = await database_sync_to_async(credential.holds)()
            except Exception:  # the database is unavailable: not a reason to drop the page
                log.warning("could not check the credential of a socket", exc_info=True)
                holds = True
            if not holds:
                await self.end()
                return
            await asyncio.sleep(period)

    async def end(self) -> None:
        if not self.ended:
            self.ended = True
            await self.close(code=CREDENTIAL_ENDED)

    async def disconnect(self, code: int) -> None:
        if self.watch is not None:
            self.watch.cancel()
        if self.group is not None:
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except Exception:  # the layer is down; the membership expires on its own
                log.debug("group_discard failed", exc_info=True)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.ended:
            return
        try:
            message = json.loads(text_data) if text_data is not None else None
        except ValueError:
            message = None
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "ack" and isinstance(message, dict):
            pk = row_id(message.get("id"))
            if pk is None:
                await self.send_json(
                    {
                        "type": "error",
                        "detail": _(
                            'An ack names the notification by its number: {"type": "ack", '
                            '"id": 12}.'
                        ),
                    }
                )
                return
            confirmed = await database_sync_to_async(services.confirm_push)(self.scope["user"], pk)
            await self.send_json({"type": "acked", "id": pk, "recorded": confirmed})
        else:
            await self.send_json(
                {
                    "type": "error",
                    "detail": _('Not understood: send JSON such as {"type": "ping"}.'),
                }
            )

    async def notification_message(self, event: dict[str, Any]) -> None:
        """A notification for this user, from the channel layer."""
        if not self.ended:
            await self.send_json(event["payload"])

    async def credential_ended(self, event: dict[str, Any]) -> None:
        """A credential of this user ended (None: all of them, the account is gone)."""
        ended = event.get("credential")
        if self.credential is not None and ended in (None, self.credential.digest):
            await self.end()

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, ensure_ascii=False))


def same_origin(scope: Scope) -> bool:
    """The handshake's Origin is this site's own or a trusted one, compared as Django's CSRF
    check compares it (scheme, host and port; CSRF_TRUSTED_ORIGINS, with their wildcards).
    No Origin: not a browser, so no ambient credential to ride on."""
    origin = next((v for k, v in scope.get("headers", []) if k.lower() == b"origin"), None)
    if origin is None:
        return True
    request_origin = origin.decode("latin1")
    # The handshake as Django reads a request: Host or X-Forwarded-Host against
    # ALLOWED_HOSTS, the scheme from SECURE_PROXY_SSL_HEADER or the server's.
    secure = scope.get("scheme") in ("wss", "https")
    request = ASGIRequest(
        {**scope, "method": "GET", "scheme": "https" if secure else "http"}, io.BytesIO()
    )
    try:
        good_origin = f"{'https' if request.is_secure() else 'http'}://{request.get_host()}"
    except DisallowedHost:
        pass
    else:
        if request_origin == good_origin:
            return True
    trusted = settings.CSRF_TRUSTED_ORIGINS
    if request_origin in {o for o in trusted if "*" not in o}:
        return True
    try:
        parsed = urlsplit(request_origin)
    except ValueError:
        return False
    return any(
        is_same_domain(parsed.netloc, pattern.netloc.lstrip("*"))
        for pattern in (urlsplit(o) for o in trusted if "*" in o)
        if pattern.scheme == parsed.scheme
    )


class SameOriginOnly:
    """Refuses a WebSocket handshake from another site's page before the application sees it."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        if scope["type"] == "websocket" and not same_origin(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)


websocket_urlpatterns = [path("ws/notifications/", NotificationConsumer.as_asgi())]


def websocket_application() -> Any:
    return SameOriginOnly(URLRouter(websocket_urlpatterns))
