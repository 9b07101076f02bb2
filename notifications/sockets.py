"""Who may hold a live-push socket, and for how long.

A page or a script asks the API for a ticket (`POST /api/v1/notifications/socket-ticket/`,
signed in with its session, API token or integration token) and opens `/ws/notifications/?ticket=…` within
WEBSOCKET_TICKET_SECONDS. The ticket opens one socket, once: the credential never appears
in the socket's address, which access logs write down. A user gets at most
WEBSOCKET_TICKETS_PER_MINUTE tickets a minute (429 with the wait beyond that).

The socket lives as long as the credential the ticket was obtained with:
- when it ends by an event — sign-out of that session, revocation of that token (a deleted
  token row; a revoked integration token: `ops.live_push`), deactivation or deletion of the
  account — its user's open sockets are told at once over the channel layer, and those
  holding that credential close; a change of the user's global roles (their groups, a
  role deleted, or the superuser flag saved through the model) closes all of them,
  and the pages ask for new tickets with the credential as it now stands;
- whatever else ends it (a token growing too old, a session expiring or invalidated by a
  password change, a session made on the password alone whose user now holds a role that
  requires a second factor, a message the layer lost) is found by the socket itself, which
  checks its credential every WEBSOCKET_RECHECK_SECONDS the way the API and the pages check
  it.

What a socket carries is decided when each notification is written (`notify` drops whoever
may not hear it, reading memberships and roles as they are then): a user removed from a unit
or a council hears nothing more of it on a socket opened before.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any, cast

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import (
    m2m_changed,
    post_delete,
    post_init,
    post_save,
    pre_delete,
)
from django.http import HttpRequest
from django.utils import timezone
from django_otp.middleware import OTPMiddleware
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    TokenAuthentication,
)
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.settings import api_settings

from cases import permissions
from cases.users import User
from notifications import delivery
from notifications.models import SocketTicket

log = logging.getLogger(__name__)

CREDENTIAL_ENDED = "credential.ended"  # the channel-layer message type
MAX_TICKET_LENGTH = 128


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def credential_digest(kind: str, reference: str) -> str:
    """How sockets and the messages that end them name a credential, without carrying it."""
    return _sha256(f"{kind}:{reference}")


@dataclass(frozen=True)
class CredentialKind:
    """A way of signing in to the API that may open the live push: how to name the
    credential a request came with (None: not this kind), and the user it signs in now
    (None once it no longer does)."""

    name: str
    reference: Callable[[Request], str | None]
    user_of: Callable[[str], Any]


KINDS: dict[str, CredentialKind] = {}


def register_credential_kind(kind: CredentialKind) -> None:
    """For a way of signing in that an app above this one owns (called from its ready())."""
    KINDS[kind.name] = kind


def credential_of(request: Request) -> tuple[str, str] | None:
    """(kind, reference) of the credential the request was signed in with, if it may open
    the live push."""
    for kind in KINDS.values():
        reference = kind.reference(request)
        if reference:
            return kind.name, reference
    return None


@dataclass(frozen=True)
class Credential:
    """The credential a socket was opened with."""

    user: User
    kind: str
    reference: str

    @property
    def digest(self) -> str:
        return credential_digest(self.kind, self.reference)

    def holds(self) -> bool:
        """Whether it still signs its user in, checked as the API or the pages check it."""
        kind = KINDS.get(self.kind)
        user = kind.user_of(self.reference) if kind is not None else None
        return user is not None and user.pk == self.user.pk and user.is_active


def _token_reference(request: Request) -> str | None:
    if isinstance(request.successful_authenticator, TokenAuthentication):
        return str(request.auth.key)
    return None


def _token_user(key: str) -> Any:
    """The token's user as the API's own token authentication sees it (age included)."""
    classes = cast(list[type[BaseAuthentication]], api_settings.DEFAULT_AUTHENTICATION_CLASSES)
    for authentication in classes:
        if issubclass(authentication, TokenAuthentication):
            try:
                user, _token = authentication().authenticate_credentials(key)
            except AuthenticationFailed:
                continue
            return user
    return None


def _session_reference(request: Request) -> str | None:
    if isinstance(request.successful_authenticator, SessionAuthentication):
        return request.session.session_key or None
    return None


def _session_user(key: str) -> Any:
    """The session's user as a page request would find it (expiry, password change, and a
    role that now requires the second factor the session was not verified with)."""
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(key)
    request.user = get_user(request)
    # django-otp's middleware, as the pages have it: the user with is_verified().
    user = OTPMiddleware(lambda verified: verified.user)(request)
    if not user.is_authenticated:
        return None
    if permissions.second_factor_required(user) and not user.is_verified():
        return None
    return user


TOKEN, SESSION = "token", "session"
register_credential_kind(CredentialKind(TOKEN, _token_reference, _token_user))
register_credential_kind(CredentialKind(SESSION, _session_reference, _session_user))


@dataclass(frozen=True)
class Ticket:
    value: str
    expires_at: datetime


TICKET_RATE_WINDOW = timedelta(minutes=1)


def ticket_wait(user: User, now: datetime) -> int:
    """Seconds until the user may have another ticket: 0 while they asked for fewer than
    WEBSOCKET_TICKETS_PER_MINUTE in the last minute (a page asks once, and again after
    each reconnection; 0 turns the limit off)."""
    limit = int(settings.WEBSOCKET_TICKETS_PER_MINUTE)
    if limit <= 0:
        return 0
    issued = list(
        SocketTicket.objects.filter(user=user, issued_at__gt=now - TICKET_RATE_WINDOW)
        .order_by("-issued_at")
        .values_list("issued_at", flat=True)[:limit]
    )
    if len(issued) < limit:
        return 0
    return max(1, math.ceil((issued[-1] + TICKET_RATE_WINDOW - now).total_seconds()))


def issue_ticket(user: User, kind: str, reference: str) -> Ticket:
    """A new single-use ticket for the user, tied to the credential the request came with
    (the caller has checked `ticket_wait`)."""
    if kind not in KINDS or not reference:
        raise ValueError(f"not a credential that may open the live push: {kind}")
    now = timezone.now()
    SocketTicket.objects.filter(
        expires_at__lte=now, issued_at__lte=now - TICKET_RATE_WINDOW
    ).delete()
    value = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=settings.WEBSOCKET_TICKET_SECONDS)
    SocketTicket.objects.create(
        digest=_sha256(value),
        user=user,
        kind=kind,
        reference=reference,
        issued_at=now,
        expires_at=expires_at,
    )
    return Ticket(value, expires_at)


def redeem_ticket(value: str) -> Credential | None:
    """The credential behind a ticket that is unused, not expired, and whose credential still
    holds; the ticket is used up either way."""
    if not value or len(value) > MAX_TICKET_LENGTH:
        return None
    now = timezone.now()
    row = (
        SocketTicket.objects.select_related("user")
        .filter(digest=_sha256(value), expires_at__gt=now, used_at__isnull=True)
        .first()
    )
    if row is None:
        return None
    used = SocketTicket.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now)
    if not used:  # another handshake used it a moment ago
        return None
    credential = Credential(row.user, row.kind, row.reference)
    return credential if credential.holds() else None


# --- ending the sockets of a credential or of an account ------------------------------------


def end_sockets(user_id: int, digest: str | None) -> None:
    """After commit, close the user's open sockets held by that credential (None: all)."""
    transaction.on_commit(lambda: _tell_sockets(user_id, digest))


def _tell_sockets(user_id: int, digest: str | None) -> None:
    message = {"type": CREDENTIAL_ENDED, "credential": digest}
    send = async_to_sync(delivery.send_all)
    messages = [(delivery.user_group(user_id), message)]
    timeout = float(settings.NOTIFY_PUSH_TIMEOUT)
    try:
        if _runs_an_event_loop():
            # async_to_sync refuses a thread whose event loop is running (a synchronous
            # caller inside one, as in sync Playwright): send from a thread of its own.
            with ThreadPoolExecutor(max_workers=1) as helper:
                errors = helper.submit(send, messages, timeout).result()
        else:
            errors = send(messages, timeout)
    except Exception as exc:  # no layer at all
        errors = [repr(exc)]
    if errors[0] is not None:
        # The sockets find out themselves at their next check of the credential.
        log.warning("could not tell the sockets of user %s to close: %s", user_id, errors[0])


def _runs_an_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    session_key = request.session.session_key if request is not None else None
    if user is not None and session_key:
        end_sockets(user.pk, credential_digest(SESSION, session_key))


def _token_deleted(sender: Any, instance: Token, **kwargs: Any) -> None:
    end_sockets(instance.user_id, credential_digest(TOKEN, instance.key))


_LOADED_SUPERUSER = "_par_sockets_loaded_superuser"


def _user_loaded(sender: Any, instance: User, **kwargs: Any) -> None:
    """Keep the superuser flag as read, to tell a change of that role when it is saved (no
    query: a deferred flag is not read)."""
    if "is_superuser" in instance.__dict__:
        instance.__dict__[_LOADED_SUPERUSER] = instance.is_superuser


def _user_saved(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    """Deactivated, or made a superuser or no longer one (a global role, as the groups are)."""
    loaded = instance.__dict__.get(_LOADED_SUPERUSER)
    _user_loaded(sender, instance)
    superuser_changed = loaded is not None and loaded != instance.is_superuser
    if not created and (not instance.is_active or superuser_changed):
        end_sockets(instance.pk, None)


def _user_deleted(sender: Any, instance: User, **kwargs: Any) -> None:
    end_sockets(instance.pk, None)


def _roles_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """A user's global roles changed: their sockets close and the pages ask for new tickets,
    which the API gives only to a credential still good for the new role (a session made on
    the password alone is not, once the role requires a second factor).

    `clear()` names no one in its signal: whom it removes is read just before (in its
    transaction; the sockets are told after commit), from either side of the relation."""
    if action in ("post_add", "post_remove"):
        user_ids = sorted(pk_set or ()) if reverse else [instance.pk]
    elif action == "pre_clear":
        user_ids = (
            sorted(instance.user_set.values_list("pk", flat=True)) if reverse else [instance.pk]
        )
    else:
        return
    for user_id in user_ids:
        end_sockets(user_id, None)


def _role_deleting(sender: Any, instance: Group, **kwargs: Any) -> None:
    """A global role deleted: its memberships go in a cascade, which sends no m2m signal."""
    for user_id in sorted(instance.user_set.values_list("pk", flat=True)):
        end_sockets(user_id, None)


def connect_signals() -> None:
    """Called once from NotificationsConfig.ready()."""
    user_logged_out.connect(_signed_out, dispatch_uid="sockets.signed_out")
    post_delete.connect(_token_deleted, sender=Token, dispatch_uid="sockets.token_deleted")
    post_init.connect(_user_loaded, sender=User, dispatch_uid="sockets.user_loaded")
    post_save.connect(_user_saved, sender=User, dispatch_uid="sockets.user_saved")
    post_delete.connect(_user_deleted, sender=User, dispatch_uid="sockets.user_deleted")
    m2m_changed.connect(
        _roles_changed, sender=User.groups.through, dispatch_uid="sockets.roles_changed"
    )
    pre_delete.connect(_role_deleting, sender=Group, dispatch_uid="sockets.role_deleting")
