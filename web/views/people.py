"""The secretariat's units and accounts: the import of the province's workbook, invitations,
deactivation, renaming and merging of units; and the invitation link a new account follows
to set its own password.

Each write is one call of `workflow.people`, which checks the permission again, audits, and
refuses with a message shown where the problem is (a refused file's every problem by sheet,
row and column).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases import permissions
from cases.errors import DomainError, ImportRefused, InvalidInput
from cases.models import Unit
from cases.users import SignedInRequest, User, display_name
from deadlines.calendar import parse_day
from web.pages import people as pages
from web.pages.secretariat import refusal
from web.shortcuts import back_to, refuse
from workflow import people as people_services


def _manager(request: SignedInRequest) -> None:
    if not permissions.may_manage_people(request.user):
        raise PermissionDenied


@login_required
def people(request: SignedInRequest) -> HttpResponse:
    """GET: the template, the units and the accounts. POST: import a workbook, all rows or
    none."""
    _manager(request)
    file_error = ""
    refused = None
    status = 200
    if request.method == "POST":
        try:
            summary = people_services.import_upload(
                request.FILES.get("file"),
                actor=request.user,
                missing=_("Choose the workbook (.xlsx) to import."),
            )
        except ImportRefused as error:
            refused = refusal(str(error.message), error.problems)
            status = error.status_code
        except DomainError as error:
            file_error = str(error.message)
            status = error.status_code
        else:
            messages.success(
                request,
                _(
                    "“%(file)s” was imported: %(units)s new units (%(unchanged)s already there), "
                    "%(accounts)s new accounts, %(memberships)s unit memberships; %(invited)s "
                    "invitations are being sent."
                )
                % {
                    "file": summary.filename,
                    "units": summary.units,
                    "unchanged": summary.units_unchanged,
                    "accounts": summary.accounts,
                    "memberships": summary.memberships,
                    "invited": len(summary.invited),
                },
            )
            return back_to("web:people")
    context = {"page": pages.people_page(), "file_error": file_error, "refused": refused}
    return render(request, "web/people.html", context, status=status)


def _person_action(request: SignedInRequest, pk: int, action: Any, done: str) -> HttpResponse:
    _manager(request)
    try:
        user = action(pk, actor=request.user)
    except DomainError as error:
        refuse(request, error)
        status = error.status_code
        if status == 404:
            raise Http404(str(error.message)) from None
    else:
        messages.success(request, done % {"name": display_name(user)})
    return back_to("web:people", anchor=f"person-{pk}")


@login_required
@require_POST
def invite(request: SignedInRequest, pk: int) -> HttpResponse:
    return _person_action(
        request, pk, people_services.invite, _("A new invitation is being sent to %(name)s.")
    )


@login_required
@require_POST
def deactivate(request: SignedInRequest, pk: int) -> HttpResponse:
    def act(user_id: int, *, actor: User) -> User:
        return people_services.deactivate(
            user_id, actor=actor, reason=request.POST.get("reason", "")
        )

    return _person_action(request, pk, act, _("%(name)s can no longer sign in; their work stays."))


@login_required
@require_POST
def reactivate(request: SignedInRequest, pk: int) -> HttpResponse:
    return _person_action(request, pk, people_services.reactivate, _("%(name)s can sign in again."))


def _date(raw: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    day = parse_day(raw)
    if day is None:
        raise InvalidInput(_("The date “%(value)s” is not a date (dd/mm/yyyy).") % {"value": raw})
    return day


@login_required
def rename_unit(request: SignedInRequest, pk: int) -> HttpResponse:
    """GET: the form. POST: the misspelt name corrected in place (`kind=correction`), or a
    new unit (new code and name) that continues this one (`kind=decision`)."""
    _manager(request)
    unit = Unit.objects.filter(pk=pk).select_related("group").first()
    if unit is None:
        raise Http404
    posted = request.POST if request.method == "POST" else {}
    error = ""
    status = 200
    if request.method == "POST":
        correction = request.POST.get("kind") == "correction"
        try:
            if correction:
                new = people_services.correct_unit_name(
                    unit.code,
                    new_name=request.POST.get("new_name", ""),
                    note=request.POST.get("note", ""),
                    actor=request.user,
                )
            else:
                new = people_services.rename_unit(
                    unit.code,
                    new_code=request.POST.get("new_code", ""),
                    new_name=request.POST.get("new_name", ""),
                    effective_date=_date(request.POST.get("effective_date", "")),
                    note=request.POST.get("note", ""),
                    actor=request.user,
                )
        except DomainError as refused:
            error, status = str(refused.message), refused.status_code
        else:
            if correction:
                messages.success(
                    request,
                    _("The name was corrected: %(unit)s stays the same unit.") % {"unit": new},
                )
                return back_to("web:people", anchor=f"unit-{new.pk}")
            messages.success(
                request,
                _("%(old)s is continued by %(new)s; its people moved to it.")
                % {"old": unit, "new": new},
            )
            return back_to("web:people", anchor=f"unit-{new.pk}")
    context = {"unit": unit, "posted": posted, "error": error}
    return render(request, "web/unit_rename.html", context, status=status)


@login_required
def merge_units(request: SignedInRequest) -> HttpResponse:
    """GET: the form. POST: the chosen units are continued by one (existing or new)."""
    _manager(request)
    posted = request.POST if request.method == "POST" else QueryDict()
    error = ""
    status = 200
    if request.method == "POST":
        try:
            new = people_services.merge_units(
                request.POST.getlist("units"),
                into_code=request.POST.get("into_code", ""),
                into_name=request.POST.get("into_name", ""),
                effective_date=_date(request.POST.get("effective_date", "")),
                note=request.POST.get("note", ""),
                actor=request.user,
            )
        except DomainError as refused:
            error, status = str(refused.message), refused.status_code
        else:
            messages.success(request, _("The units were merged into %(new)s.") % {"new": new})
            return back_to("web:people", anchor=f"unit-{new.pk}")
    context = {
        "units": Unit.objects.filter(is_active=True)
        .select_related("group")
        .order_by("group__code", "code"),
        "chosen": posted.getlist("units"),
        "posted": posted,
        "error": error,
    }
    return render(request, "web/unit_merge.html", context, status=status)


class InvitationView(auth_views.PasswordResetConfirmView):
    """The invitation link: Django's password-reset confirmation, then the sign-in page."""

    template_name = "web/invitation.html"
    success_url = reverse_lazy("login")

    def form_valid(self, form: SetPasswordForm[User]) -> HttpResponse:
        with transaction.atomic():  # the password and its audit entry together
            response = super().form_valid(form)
            people_services.password_set(form.user)
        messages.success(
            self.request,
            _("Your password is set. Sign in with your user name %(username)s.")
            % {"username": form.user.get_username()},
        )
        return response
