"""Two-factor sign-in with django-otp: an authenticator app (TOTP) and one-time recovery codes.

Required for the secretariat, the leader, the auditor and superusers where the installation
sets TWO_FACTOR_REQUIRED (on in the production example, off in the embedded demo); offered to
everyone else. Whoever has confirmed an authenticator needs it from then on, whatever the
setting: on the pages and for an API token alike.

The password step signs nobody in when a second factor is needed: it leaves the user as
*pending* in the session for a few minutes, and the second step (a code, or setting up the
authenticator where it is required and missing) signs them in with the session marked
verified. No session is ever made on a password alone for them; one made otherwise (signed in
before the installation turned the requirement on) is ended by `SecondFactorMiddleware`;
an API token issued on the password alone is refused until the authenticator is set up,
which deletes it (config/auth.py). Wrong codes are throttled per device by django-otp (a delay doubling with each failure).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import django_otp
import segno
from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from cases import permissions
from cases.errors import NotAllowed
from cases.users import User
from ops.models import IntegrationToken
from workflow import audit

RECOVERY_CODES = 10
PENDING_MINUTES = 10
AUTHENTICATOR_NAME = "authenticator"
RECOVERY_NAME = "recovery"
_PENDING = "par_pending_sign_in"
_CHECKED = "par_second_factor_checked"

TWO_FACTOR_ENABLED = "auth.two_factor.enabled"
TWO_FACTOR_DISABLED = "auth.two_factor.disabled"
RECOVERY_CODES_RENEWED = "auth.two_factor.recovery_codes_renewed"


def required_for(user: User) -> bool:
    """Whether the installation requires a second factor of this user (their role)."""
    return permissions.second_factor_required(user)


def authenticator(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def needs_second_factor(user: User) -> bool:
    return required_for(user) or authenticator(user) is not None


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# --- setting up ---------------------------------------------------------------------------


def unconfirmed_authenticator(user: User) -> TOTPDevice:
    """The authenticator being set up: the same secret until it is confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


def qr_code(device: TOTPDevice) -> str:
    """The authenticator's otpauth:// address as a QR code, a data: URI (the CSP allows it)."""
    return str(segno.make(device.config_url, error="m").svg_data_uri(scale=4))


def secret_text(device: TOTPDevice) -> str:
    """The secret in base32 groups of four, for typing into an app instead of scanning."""
    text = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def _clean(code: str) -> str:
    return "".join(str(code).split()).lower()[:32]


def confirm_authenticator(user: User, code: str) -> tuple[TOTPDevice, list[str]] | None:
    """The authenticator confirmed by its first code, with new recovery codes; None if the
    code is wrong (nothing changes then)."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
        if device is None or not device.verify_token(_clean(code)):
            return None
        replaced, _by_model = TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _replace_recovery_codes(user)
        # An API token issued on the password alone stops working.
        Token.objects.filter(user=user).delete()
        audit.record(TWO_FACTOR_ENABLED, actor=user, obj=device)
        if required_for(user) and not replaced:
            _revoke_integration_tokens(user)
    return device, codes


def _revoke_integration_tokens(user: User) -> None:
    """The integration tokens of someone whose role requires a second factor and who had none
    until now: made on the password alone (before the role or the requirement came), they
    would otherwise carry the role from now on. Each revocation is audited."""
    from config.auth import revoke_integration_token

    for pk in IntegrationToken.objects.usable().filter(user=user).values_list("pk", flat=True):
        revoke_integration_token(user, pk)


def turn_off(user: User) -> None:
    """Back to the password alone, for someone of whom the installation does not require a
    second factor (the caller has checked a current code)."""
    if required_for(user):
        raise NotAllowed(_("Two-factor sign-in is required for your account: it stays on."))
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit.record(TWO_FACTOR_DISABLED, actor=user)


def renew_recovery_codes(user: User) -> list[str]:
    """New recovery codes; the old ones stop working."""
    with transaction.atomic():
        codes = _replace_recovery_codes(user)
        audit.record(RECOVERY_CODES_RENEWED, actor=user, data={"codes": len(codes)})
    return codes


def _replace_recovery_codes(user: User) -> list[str]:
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _n in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


# --- checking a code ----------------------------------------------------------------------


class Verdict:
    """What a code was worth: the device that took it, or why not (a wait in seconds)."""

    def __init__(self, device: Device | None = None, wait: int = 0) -> None:
        self.device = device
        self.wait = wait


def check_code(user: User, code: str) -> Verdict:
    """Six digits are tried on the authenticator, anything else on the recovery codes (a
    recovery code works once). Throttled devices refuse without looking at the code."""
    code = _clean(code)
    if not code:
        return Verdict()
    model: type[Device] = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
    for device in model.objects.filter(user=user, confirmed=True):
        allowed, data = device.verify_is_allowed()
        if not allowed:
            until = (data or {}).get("locked_until")
            wait = (until - timezone.now()).total_seconds() if until else 1
            return Verdict(wait=max(1, math.ceil(wait)))
        matched = django_otp.verify_token(user, device.persistent_id, code)
        if matched is not None:
            return Verdict(device=matched)
    return Verdict()


def wrong_code_message(verdict: Verdict) -> str:
    if verdict.wait:
        return ngettext(
            "Too many wrong codes: try again in %(count)d second.",
            "Too many wrong codes: try again in %(count)d seconds.",
            verdict.wait,
        ) % {"count": verdict.wait}
    return _("The code is wrong or has expired: type the code your authenticator app shows now.")


# --- the pending sign-in ------------------------------------------------------------------


def set_pending(request: HttpRequest, user: User, next_url: str) -> None:
    """After the password: the user waits in the session for their second factor."""
    request.session.cycle_key()
    request.session[_PENDING] = {
        "user": user.pk,
        "backend": getattr(user, "backend", ""),
        "next": next_url,
        "until": (timezone.now() + timedelta(minutes=PENDING_MINUTES)).timestamp(),
    }


def pending_user(request: HttpRequest) -> User | None:
    pending = request.session.get(_PENDING)
    if not isinstance(pending, dict) or pending.get("until", 0) < timezone.now().timestamp():
        return None
    user_id = pending.get("user")
    if not isinstance(user_id, int):
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def pending_next(request: HttpRequest) -> str:
    pending = request.session.get(_PENDING) or {}
    return str(pending.get("next") or settings.LOGIN_REDIRECT_URL)


def complete_sign_in(request: HttpRequest, user: User, device: Device | None) -> None:
    """Sign the user in; with the device that verified them, the session is verified."""
    pending = request.session.pop(_PENDING, None) or {}
    backend = pending.get("backend") or "django.contrib.auth.backends.ModelBackend"
    login(request, user, backend=backend)
    if device is not None:
        django_otp.login(request, device)
    request.session[_CHECKED] = True


def mark_checked(request: HttpRequest) -> None:
    """A sign-in that needed no second factor: where the requirement is on, the middleware
    need not ask again (where it is off, it asks once the installation turns it on)."""
    request.session[_CHECKED] = bool(settings.TWO_FACTOR_REQUIRED)


class SecondFactorMiddleware:
    """Ends a session that lacks the second factor its user needs: one made before the
    installation required it, or before its user was given a role that requires it.

    Roles change while a session lasts, so whether the role requires a second factor is
    read on every request of a session not verified by one (the user's groups, one query
    the pages reuse); whether the user has set an authenticator up elsewhere, once per
    session. Only where the installation requires it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.TWO_FACTOR_REQUIRED:
            refused = self._refusal(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        user: Any = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return None
        if not required_for(user):
            if request.session.get(_CHECKED):
                return None
            if authenticator(user) is None:
                request.session[_CHECKED] = True
                return None
        logout(request)
        message = _("Sign in again with your second factor.")
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message, "errors": []}, status=401)
        return redirect_to_login(request.get_full_path())
