"""The sign-in guard: guessing from many addresses slows the account, spraying is audited.

django-axes locks one username from one address. Beside it, this guard counts each account's
failed password checks from every address (`ops.models.SignInFailure`, a day's worth): past
SIGNIN_ACCOUNT_FREE_FAILURES, the account answers only after a delay from its last failure
that doubles with each further failure, up to SIGNIN_DELAY_MAX_SECONDS. It is a delay, not
a lock: attempts refused while waiting check no password and are not counted, so an attacker
gets one guess per delay and can never keep a real user waiting longer than the cap. A browser
the user signed in on before (a signed cookie naming them) is not made to wait at all.

Spraying, one password tried on many accounts, is seen when failures name
SIGNIN_SPRAY_ACCOUNTS accounts from one address, or SIGNIN_SPRAY_ACCOUNTS_TOTAL from
anywhere, within SIGNIN_SPRAY_WINDOW_MINUTES: one audit entry per source and window, shown
to the secretariat on the sign-in watch page; the spraying address then waits as an account
would. The secretariat is notified once per wave: the first entry after two quiet windows
(spraying that goes on is audited again each window, and is still the same wave).

The guard is an authentication backend (placed before the password check, so that it runs for
the login page, the admin and the API token alike) and a receiver of Django's
`user_login_failed`. The sign-in views call `signed_in_ok` and answer `wait_response` when
`waiting(request)` says the guard refused.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, TypeVar

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Max
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import ngettext

from cases.permissions import system_user
from ops.models import SignInFailure
from workflow import audit, events
from workflow.models import AuditEntry

SPRAYING = audit.SIGNIN_SPRAYING
DEVICE_COOKIE = "par_device"
_DEVICE_SALT = "config.auth_guard.device"
_WAIT_ATTRIBUTE = "par_signin_wait"
_CHECKED_ATTRIBUTE = "par_signin_checked"
FAILURES_KEPT = timedelta(days=1)
R = TypeVar("R", bound=HttpResponse)


def client_address(request: HttpRequest | None) -> str | None:
    """The address django-axes counts, so that both guards agree on who is asking."""
    if request is None:
        return None
    return get_client_ip_address(request) or None


def delay_after(failures: int) -> int:
    """Seconds an account waits after its `failures`-th failure: none for the first few,
    then SIGNIN_DELAY_BASE_SECONDS doubling with each failure, never above the cap."""
    beyond = failures - settings.SIGNIN_ACCOUNT_FREE_FAILURES
    if beyond < 0:
        return 0
    base = settings.SIGNIN_DELAY_BASE_SECONDS
    cap = settings.SIGNIN_DELAY_MAX_SECONDS
    return int(min(base * 2 ** min(beyond, 30), cap))


def _seconds_left(last: datetime | None, delay: int, now: datetime) -> int:
    if last is None or delay <= 0:
        return 0
    return max(0, math.ceil((last + timedelta(seconds=delay) - now).total_seconds()))


def account_wait(username: str, now: datetime) -> int:
    failures = SignInFailure.objects.filter(username=username, at__gte=now - FAILURES_KEPT)
    seen = failures.aggregate(count=Count("pk"), last=Max("at"))
    return _seconds_left(seen["last"], delay_after(seen["count"]), now)


def address_wait(address: str | None, now: datetime) -> int:
    """A spraying address waits as an account would, counted in accounts beyond the limit."""
    if not address:
        return 0
    window = now - timedelta(minutes=settings.SIGNIN_SPRAY_WINDOW_MINUTES)
    seen = SignInFailure.objects.filter(address=address, at__gte=window).aggregate(
        accounts=Count("username", distinct=True), last=Max("at")
    )
    beyond = seen["accounts"] - settings.SIGNIN_SPRAY_ACCOUNTS
    if beyond < 0:
        return 0
    return _seconds_left(
        seen["last"], delay_after(settings.SIGNIN_ACCOUNT_FREE_FAILURES + beyond), now
    )


def known_device(request: HttpRequest | None, username: str) -> bool:
    """Whether the browser carries the cookie of an earlier sign-in by this user."""
    if request is None or DEVICE_COOKIE not in request.COOKIES:
        return False
    try:
        named = signing.loads(
            request.COOKIES[DEVICE_COOKIE],
            salt=_DEVICE_SALT,
            max_age=timedelta(days=settings.SIGNIN_DEVICE_DAYS),
        )
    except signing.BadSignature:
        return False
    return bool(named == username)


def remember_device(response: HttpResponse, username: str) -> None:
    """Mark the browser a user just signed in on: later it is not made to wait for them."""
    response.set_cookie(
        DEVICE_COOKIE,
        signing.dumps(username, salt=_DEVICE_SALT),
        max_age=int(timedelta(days=settings.SIGNIN_DEVICE_DAYS).total_seconds()),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def waiting(request: HttpRequest) -> int:
    """Seconds the guard asked this request to wait (0: it did not refuse)."""
    return int(getattr(request, _WAIT_ATTRIBUTE, 0))


def refused_by_guard(request: HttpRequest, credentials: dict[str, Any] | None = None) -> bool:
    """AXES_WHITELIST_CALLABLE: an attempt this guard refused checked no password, so
    django-axes does not count it either (or a real user who retries while waiting would be
    locked out by django-axes for its whole cool-off)."""
    return bool(waiting(request))


def wait_message(seconds: int) -> str:
    if seconds >= 120:
        minutes = math.ceil(seconds / 60)
        return ngettext(
            "Too many failed sign-ins on this account: try again in %(count)d minute.",
            "Too many failed sign-ins on this account: try again in %(count)d minutes.",
            minutes,
        ) % {"count": minutes}
    return ngettext(
        "Too many failed sign-ins on this account: try again in %(count)d second.",
        "Too many failed sign-ins on this account: try again in %(count)d seconds.",
        seconds,
    ) % {"count": seconds}


def with_retry_after(response: R, seconds: int) -> R:
    response.status_code = 429
    response["Retry-After"] = str(seconds)
    return response


class SignInGuardBackend:
    """Refuses, before any password is checked, an account (or address) that must wait.

    It has no `get_user`: it never signs anyone in, and Django's test client and session
    code pick the first backend that has one."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, **kwargs: Any
    ) -> None:
        if request is None or not username:
            return None
        seconds = 0
        if not known_device(request, username):
            now = timezone.now()
            seconds = max(account_wait(username, now), address_wait(client_address(request), now))
        if seconds:
            setattr(request, _WAIT_ATTRIBUTE, seconds)
            # Stops the other backends; Django then sends user_login_failed (not counted).
            raise PermissionDenied
        # The password is checked next: a failure from here on is counted.
        setattr(request, _CHECKED_ATTRIBUTE, True)
        return None


@receiver(user_login_failed, dispatch_uid="config.auth_guard.count_failure")
def count_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """A password checked and refused: one more failure for the account and the address."""
    username = str(credentials.get("username") or "")[:150]
    if not username or request is None or not getattr(request, _CHECKED_ATTRIBUTE, False):
        return  # refused before the password was checked (here or by django-axes)
    now = timezone.now()
    address = client_address(request)
    with transaction.atomic():
        SignInFailure.objects.create(at=now, username=username, address=address)
        SignInFailure.objects.filter(at__lt=now - FAILURES_KEPT).delete()
        _audit_spraying(address, now)


def signed_in_ok(username: str) -> None:
    """A successful sign-in: the account's failures are forgotten."""
    SignInFailure.objects.filter(username=username).delete()


def _audit_spraying(address: str | None, now: datetime) -> None:
    window_start = now - timedelta(minutes=settings.SIGNIN_SPRAY_WINDOW_MINUTES)
    recent = SignInFailure.objects.filter(at__gte=window_start)
    sources: list[tuple[str, int]] = []
    if address:
        sources.append((address, settings.SIGNIN_SPRAY_ACCOUNTS))
    sources.append(("", settings.SIGNIN_SPRAY_ACCOUNTS_TOTAL))
    for source, limit in sources:
        failures = recent.filter(address=source) if source else recent
        accounts = failures.values("username").distinct().count()
        if accounts < limit:
            continue
        already = AuditEntry.objects.filter(
            action=SPRAYING, at__gte=window_start, data__address=source
        ).exists()
        if already:
            continue
        usernames = sorted(failures.values_list("username", flat=True).distinct()[:limit])
        quiet_since = now - 2 * timedelta(minutes=settings.SIGNIN_SPRAY_WINDOW_MINUTES)
        new_wave = not AuditEntry.objects.filter(action=SPRAYING, at__gte=quiet_since).exists()
        entry = audit.record(
            SPRAYING,
            actor=system_user(),
            at=now,
            data={
                "address": source,
                "accounts": accounts,
                "window_minutes": settings.SIGNIN_SPRAY_WINDOW_MINUTES,
                "usernames": usernames,
                "new_wave": new_wave,
            },
        )
        events.publish(entry)
