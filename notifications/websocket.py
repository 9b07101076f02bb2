"""The live push: `/ws/notifications/`, one connection per open page.

Each page of a user joins that user's group on the channel layer; `notifications.delivery`
sends every new notification to the group after commit, so every open tab of the recipient,
and nobody else, receives it. Authentication is the session (browsers) or a DRF token
(`?token=…`, or the subprotocols `["token", "<key>"]`). Browsers always send an Origin on a
WebSocket handshake: a foreign one is refused, so another site cannot ride on the session.

Frames the page may send: {"type": "ping"} → {"type": "pong"}; {"type": "ack", "id": N} to
confirm it received notification N (recorded as proof of notice). Anything else gets an
{"type": "error"} frame and the connection stays open.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.middleware import BaseMiddleware
from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.urls import path
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from notifications import services
from notifications.delivery import user_group

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 4013  # 1013 "try again later", in the range an application may send
TOKEN_SUBPROTOCOL = "token"


class NotificationConsumer(AsyncWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            # Refused before the handshake completes, with the policy-violation code. (Daphne
            # answers such a refusal with HTTP 403: it may send only 1000 or 3000–4999 once
            # the socket is open, so accepting first to close with 1008 would fail there.)
            await self.close(code=POLICY_VIOLATION)
            return
        try:
            await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        except Exception:
            log.warning("channel layer unavailable; page of user %s told to retry", user.pk)
            await self.accept()
            await self.close(code=TRY_AGAIN_LATER)
            return
        self.group = user_group(user.pk)
        await self.accept(subprotocol=self.scope.get("token_subprotocol"))
        unread = await database_sync_to_async(services.unread_count)(user)
        await self.send_json({"type": "hello", "unread": unread})

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except Exception:  # the layer is down; the membership expires on its own
                log.debug("group_discard failed", exc_info=True)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data) if text_data is not None else None
        except ValueError:
            message = None
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "ack" and isinstance(message, dict):
            confirmed = await database_sync_to_async(services.confirm_push)(
                self.scope["user"], message.get("id")
            )
            await self.send_json({"type": "acked", "id": message.get("id"), "recorded": confirmed})
        else:
            await self.send_json(
                {
                    "type": "error",
                    "detail": _('Not understood: send JSON such as {"type": "ping"}.'),
                }
            )

    async def notification_message(self, event: dict[str, Any]) -> None:
        """A notification for this user, from the channel layer."""
        await self.send_json(event["payload"])

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, ensure_ascii=False))


@database_sync_to_async
def _user_for_token(key: str) -> Any:
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


class TokenAuthMiddleware(BaseMiddleware):
    """Authenticate by DRF token where the session did not (non-browser clients)."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            key, subprotocol = _token_from(scope)
            if key:
                scope = {**scope, "user": await _user_for_token(key)}
                if subprotocol:
                    scope["token_subprotocol"] = subprotocol
        return await super().__call__(scope, receive, send)


def _token_from(scope: dict[str, Any]) -> tuple[str, str | None]:
    protocols = list(scope.get("subprotocols") or [])
    if TOKEN_SUBPROTOCOL in protocols:
        index = protocols.index(TOKEN_SUBPROTOCOL)
        if index + 1 < len(protocols):
            return protocols[index + 1], TOKEN_SUBPROTOCOL
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    return (query.get("token") or [""])[0], None


class BrowserOriginValidator(OriginValidator):
    """A browser's Origin must be one of ours; clients that send none (scripts with a
    token, which carry no ambient credential) are let through."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        return parsed_origin is None or self.validate_origin(parsed_origin)


websocket_urlpatterns = [path("ws/notifications/", NotificationConsumer.as_asgi())]


def websocket_application() -> Any:
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(
        AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns))), allowed
    )
