"""The sign-in pages: the login form with the sign-in guard, and the secretariat's watch over
failed sign-ins (config/auth_guard.py).

Apart from `web`, which may not import the guard's failure records (`ops`); the templates are
the site's (templates/auth/).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from cases import permissions
from cases.users import SignedInRequest
from config import auth_guard
from ops.models import SignInFailure
from workflow.models import AuditEntry


class SignInView(LoginView):
    """Django's login form; a guessed-at account's wait is said in the form, with 429."""

    template_name = "web/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        username = form.get_user().get_username()
        auth_guard.signed_in_ok(username)
        auth_guard.remember_device(response, username)
        return response

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        seconds = auth_guard.waiting(self.request)
        if not seconds:
            return super().form_invalid(form)
        form.errors.pop("__all__", None)
        form.add_error(None, auth_guard.wait_message(seconds))
        return auth_guard.with_retry_after(super().form_invalid(form), seconds)


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
