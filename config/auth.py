"""API tokens that expire: a token older than API_TOKEN_TTL_DAYS no longer signs a user in.

A new sign-in (POST /api/v1/auth/token/) replaces an expired token; DELETE on the same
address revokes the caller's token at once. Integrations use long-lived tokens instead, made
and revoked by their user in the pages (`Bearer par_…`, INTEGRATION_TOKEN_DAYS).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication
from rest_framework.authentication import (
    BaseAuthentication,
    TokenAuthentication,
    get_authorization_header,
)
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.request import Request
from rest_framework.settings import api_settings

from cases import permissions
from cases.compiled import Compiled
from cases.errors import InvalidInput, NotFound
from cases.users import User
from ops.models import IntegrationToken
from workflow import audit


def token_expired(token: Token) -> bool:
    return token.created < timezone.now() - timedelta(days=settings.API_TOKEN_TTL_DAYS)


def fresh_token(user: User) -> Token:
    """The user's token, replaced by a new one when it has expired."""
    token, _created = Token.objects.get_or_create(user=user)
    if token_expired(token):
        token.delete()
        token = Token.objects.create(user=user)
    return token


# Every API request reads its token with its user: the read DRF makes, compiled once.
_TOKEN: Compiled[Token] = Compiled(
    lambda _key, key: Token.objects.select_related("user").filter(key=key)
)


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        found = _TOKEN((), key)
        if found and found[0].user.is_active:
            token, user = found[0], found[0].user
        else:  # DRF's own refusal, in its words (it reads the token again to say which)
            user, token = super().authenticate_credentials(key)
        if token_expired(token):
            raise AuthenticationFailed(_("Your sign-in token has expired: sign in again."))
        if permissions.second_factor_missing(user):
            raise AuthenticationFailed(_("Sign in again with your second factor."))
        return user, token


# --- long-lived tokens for integrations (made in the pages) --------------------------------

INTEGRATION_TOKEN_CREATED = "auth.integration_token.created"
INTEGRATION_TOKEN_REVOKED = "auth.integration_token.revoked"
INTEGRATION_PREFIX = "par_"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_integration_token(user: User, name: str) -> tuple[IntegrationToken, str]:
    """A new token and its key, which is shown once and kept only as a SHA-256."""
    name = " ".join(str(name).split())[:100]
    if not name:
        raise InvalidInput(_("Name the integration that will use the token."))
    key = INTEGRATION_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = IntegrationToken.objects.create(
            user=user,
            name=name,
            prefix=key[:12],
            key_sha256=_digest(key),
            expires_at=timezone.now() + timedelta(days=settings.INTEGRATION_TOKEN_DAYS),
        )
        audit.record(
            INTEGRATION_TOKEN_CREATED,
            actor=user,
            obj=token,
            data={"name": token.name, "prefix": token.prefix, "expires_at": token.expires_at},
        )
    return token, key


def revoke_integration_token(user: User, pk: int) -> IntegrationToken:
    """Revoke one of the user's own tokens at once (404 for anyone else's)."""
    with transaction.atomic():
        token = (
            IntegrationToken.objects.select_for_update()
            .filter(pk=pk, user=user, revoked_at__isnull=True)
            .first()
        )
        if token is None:
            raise NotFound(_("No such token of yours, or it is already revoked."))
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            INTEGRATION_TOKEN_REVOKED, actor=user, obj=token, data={"prefix": token.prefix}
        )
    return token


class IntegrationTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer par_…`: an integration's token, until revoked or expired."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, IntegrationToken] | None:
        header = get_authorization_header(request).split()
        if len(header) != 2 or header[0].lower() != self.keyword.lower().encode():
            return None
        try:
            key = header[1].decode()
        except UnicodeError:
            raise AuthenticationFailed(_("Invalid token.")) from None
        if not key.startswith(INTEGRATION_PREFIX):
            return None
        now = timezone.now()
        token = (
            IntegrationToken.objects.usable()
            .select_related("user")
            .filter(key_sha256=_digest(key))
            .first()
        )
        if token is None:
            raise AuthenticationFailed(_("Invalid token."))
        if permissions.second_factor_missing(token.user):
            # Its user was given a role that requires a second factor and has none yet.
            raise AuthenticationFailed(_("Sign in again with your second factor."))
        if token.last_used_at is None or token.last_used_at < now - timedelta(minutes=5):
            IntegrationToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class IntegrationTokenScheme(OpenApiAuthenticationExtension):
    """The integration token in the API description (and `check --deploy` without warnings)."""

    target_class = IntegrationTokenAuthentication
    name = "integrationToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An integration token (par_…), made on the Account security page.",
        }


def token_signs_in(authorization: str) -> bool | None:
    """Whether an `Authorization` header signs a user in, as the API's schemes decide it, in
    their order (DEFAULT_AUTHENTICATION_CLASSES) but the session's: None when it names none
    of them, and the session decides. For config/bodies.py, which answers before DRF runs."""
    request = HttpRequest()
    request.META["HTTP_AUTHORIZATION"] = authorization
    schemes = cast(list[type[BaseAuthentication]], api_settings.DEFAULT_AUTHENTICATION_CLASSES)
    for scheme in schemes:
        if issubclass(scheme, authentication.SessionAuthentication):
            continue
        try:
            # The token schemes read only the header, which a Django request carries as DRF's.
            if scheme().authenticate(request) is not None:  # type: ignore[arg-type]
                return True
        except AuthenticationFailed:
            return False
    return None


# --- the session of the pages, for the API -------------------------------------------------


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's, refusing a request without the page's CSRF token in the user's language (DRF
    quotes Django's reason, in English: "CSRF Failed: CSRF cookie not set.")."""

    def enforce_csrf(self, request: Request) -> None:
        try:
            super().enforce_csrf(request)
        except PermissionDenied:
            raise PermissionDenied(
                _(
                    "The page's security token is missing or out of date: reload the page and "
                    "try again."
                )
            ) from None


class PageSessionScheme(SessionScheme):
    """The session in the API description, as drf-spectacular describes DRF's own."""

    target_class = "config.auth.SessionAuthentication"
