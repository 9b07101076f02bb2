"""The sign-in pages: the login form with the sign-in guard (config/auth_guard.py), the second
factor (config/auth_two_factor.py), a person's account security (authenticator, recovery
codes, integration tokens), and the secretariat's watch over failed sign-ins.

Apart from `web`, which may not import the guard's failure records (`ops`); the templates are
the site's (templates/auth/).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases import permissions
from cases.errors import DomainError
from cases.users import SignedInRequest, User
from config import auth, auth_guard
from config import auth_two_factor as two_factor
from ops.models import SignInFailure
from workflow.models import AuditEntry


class SignInView(LoginView):
    """Django's login form; a guessed-at account's wait is said in the form, with 429."""

    template_name = "web/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        username = user.get_username()
        auth_guard.signed_in_ok(username)
        if two_factor.needs_second_factor(user):
            two_factor.set_pending(self.request, user, self.get_success_url())
            if two_factor.authenticator(user) is None:
                return redirect("second-factor-setup")
            return redirect("second-factor")
        response = super().form_valid(form)
        two_factor.mark_checked(self.request)
        auth_guard.remember_device(response, username)
        return response

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        seconds = auth_guard.waiting(self.request)
        if not seconds:
            return super().form_invalid(form)
        form.errors.pop("__all__", None)
        form.add_error(None, auth_guard.wait_message(seconds))
        return auth_guard.with_retry_after(super().form_invalid(form), seconds)


def _signed_in(request: HttpRequest, user: User, device: Any) -> HttpResponse:
    next_url = two_factor.pending_next(request)
    two_factor.complete_sign_in(request, user, device)
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = resolve_url(settings.LOGIN_REDIRECT_URL)
    response = redirect(next_url)
    auth_guard.remember_device(response, user.get_username())
    return response


def second_factor(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the authenticator app, or a recovery code."""
    user = two_factor.pending_user(request)
    if user is None or two_factor.authenticator(user) is None:
        return redirect("login")
    error, status = "", 200
    if request.method == "POST":
        verdict = two_factor.check_code(user, request.POST.get("code", ""))
        if verdict.device is not None:
            response = _signed_in(request, user, verdict.device)
            left = two_factor.recovery_codes_left(user)
            if verdict.device.persistent_id.startswith("otp_static") and left <= 3:
                messages.warning(
                    request,
                    ngettext(
                        "Recovery code used: %(count)d left. Make new ones in Account security.",
                        "Recovery code used: %(count)d left. Make new ones in Account security.",
                        left,
                    )
                    % {"count": left},
                )
            return response
        error = two_factor.wrong_code_message(verdict)
        status = 429 if verdict.wait else 200
    response = render(request, "auth/second_factor.html", {"error": error}, status=status)
    return auth_guard.with_retry_after(response, verdict.wait) if status == 429 else response


def second_factor_setup(request: HttpRequest) -> HttpResponse:
    """Setting up the authenticator at sign-in, where the installation requires one."""
    user = two_factor.pending_user(request)
    if user is None or two_factor.authenticator(user) is not None:
        return redirect("login")
    device = two_factor.unconfirmed_authenticator(user)
    error = ""
    if request.method == "POST":
        confirmed = two_factor.confirm_authenticator(user, request.POST.get("code", ""))
        if confirmed is not None:
            next_url = two_factor.pending_next(request)
            response = _signed_in(request, user, confirmed[0])
            return render(
                request,
                "auth/recovery_codes.html",
                {"codes": confirmed[1], "next": response["Location"] or next_url},
            )
        error = two_factor.wrong_code_message(two_factor.Verdict())
    return render(request, "auth/second_factor_setup.html", _setup_context(device, error))


def _setup_context(device: Any, error: str) -> dict[str, Any]:
    return {
        "qr": two_factor.qr_code(device),
        "secret": two_factor.secret_text(device),
        "error": error,
    }


@login_required
def account_security(request: SignedInRequest) -> HttpResponse:
    """A person's own sign-in: the authenticator (set it up here when it is optional), the
    recovery codes left, and the long-lived tokens of their integrations."""
    user = request.user
    context: dict[str, Any] = {
        "authenticator": two_factor.authenticator(user),
        "required": two_factor.required_for(user),
        "codes_left": two_factor.recovery_codes_left(user),
        "tokens": user.integration_tokens.all(),
        "now": timezone.now(),
        "error": "",
        "token_error": "",
    }
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "authenticator" and context["authenticator"] is None:
            confirmed = two_factor.confirm_authenticator(user, request.POST.get("code", ""))
            if confirmed is not None:
                two_factor.complete_sign_in(request, user, confirmed[0])
                return render(
                    request,
                    "auth/recovery_codes.html",
                    {"codes": confirmed[1], "next": reverse("account-security")},
                )
            context["error"] = two_factor.wrong_code_message(two_factor.Verdict())
            status = 400
        elif action == "recovery-codes" and context["authenticator"] is not None:
            verdict = two_factor.check_code(user, request.POST.get("code", ""))
            if verdict.device is not None and verdict.device == context["authenticator"]:
                codes = two_factor.renew_recovery_codes(user)
                return render(
                    request,
                    "auth/recovery_codes.html",
                    {"codes": codes, "next": reverse("account-security")},
                )
            context["error"] = two_factor.wrong_code_message(verdict)
            status = 429 if verdict.wait else 400
        elif action == "turn-off" and context["authenticator"] is not None:
            verdict = two_factor.check_code(user, request.POST.get("code", ""))
            if verdict.device is not None and verdict.device == context["authenticator"]:
                try:
                    two_factor.turn_off(user)
                except DomainError as error:
                    context["error"] = str(error.message)
                    status = error.status_code
                else:
                    messages.success(request, _("Two-factor sign-in is off."))
                    return redirect("account-security")
            else:
                context["error"] = two_factor.wrong_code_message(verdict)
                status = 429 if verdict.wait else 400
        elif action == "token":
            try:
                token, key = auth.create_integration_token(user, request.POST.get("name", ""))
            except DomainError as error:
                context["token_error"] = str(error.message)
                status = error.status_code
            else:
                context["new_token"] = (token, key)
        elif action == "revoke":
            try:
                auth.revoke_integration_token(user, _int(request.POST.get("token")))
            except DomainError as error:
                context["token_error"] = str(error.message)
                status = error.status_code
            else:
                messages.success(request, _("The token was revoked: it no longer works."))
                return redirect("account-security")
        else:
            return HttpResponseBadRequest(_("Unknown action."))
    if context["authenticator"] is None:
        context.update(_setup_context(two_factor.unconfirmed_authenticator(user), context["error"]))
    return render(request, "auth/account_security.html", context, status=status)


def _int(value: str | None) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


@dataclass(frozen=True)
class AccountRow:
    username: str
    failures: int
    addresses: int
    last: datetime
    waits_until: datetime | None


def _account_rows(now: datetime) -> list[AccountRow]:
    seen = (
        SignInFailure.objects.filter(at__gte=now - auth_guard.FAILURES_KEPT)
        .values("username")
        .annotate(failures=Count("pk"), addresses=Count("address", distinct=True), last=Max("at"))
        .order_by("-failures", "-last")[:100]
    )
    rows = []
    for row in seen:
        delay = auth_guard.delay_after(row["failures"])
        until = row["last"] + timedelta(seconds=delay)
        rows.append(
            AccountRow(
                username=row["username"],
                failures=row["failures"],
                addresses=row["addresses"],
                last=row["last"],
                waits_until=until if delay and until > now else None,
            )
        )
    return rows


@login_required
def sign_in_watch(request: SignedInRequest) -> HttpResponse:
    """The secretariat's view of guessing: spraying seen (from the audit trail) and the
    accounts with failed sign-ins in the last day, with the wait each is under."""
    if not permissions.may_watch_sign_ins(request.user):
        raise PermissionDenied
    now = timezone.now()
    context: dict[str, Any] = {
        "spraying": AuditEntry.objects.filter(action=auth_guard.SPRAYING).order_by("-at")[:50],
        "accounts": _account_rows(now),
    }
    return render(request, "auth/sign_in_watch.html", context)
