"""The secretariat sets up a cycle in the pages: create it, change its settings, choose the
criteria set of each unit group, open it. Each write is one call to
`workflow.cycle_services`, whose refusal is shown beside the field it names."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases import permissions
from cases.errors import DomainError
from cases.models import Cycle
from cases.users import SignedInRequest
from web.pages import cycle_setup as pages
from web.shortcuts import back_to, managed_cycle, refuse
from workflow import cycle_services, cycle_settings


def _render(request: SignedInRequest, form: pages.CycleForm, status: int = 200) -> HttpResponse:
    return render(request, "web/cycle_form.html", {"form": form}, status=status)


def _problems(error: DomainError) -> dict[str, list[str]]:
    if isinstance(error, cycle_settings.SettingsRefused):
        return error.by_field
    if isinstance(error, cycle_services.LockNotConfirmed):
        return {"confirm_lock": [str(error.message), *(str(e) for e in error.errors)]}
    return {"": [str(error.message), *(str(e) for e in error.errors)]}


@login_required
def new(request: SignedInRequest) -> HttpResponse:
    """GET: the form of a new cycle. POST: create it as a draft, with the sets chosen."""
    if not permissions.may_manage_cycle(request.user):
        raise PermissionDenied
    if request.method != "POST":
        return _render(request, pages.build(None))
    data = pages.posted_settings(request.POST, set(cycle_settings.SETTINGS))
    data["frameworks"] = [v for v in request.POST.getlist("framework") if v]
    try:
        cycle = cycle_services.create_cycle(cycle_settings.read_new(data), actor=request.user)
    except DomainError as error:
        form = pages.build(None, request.POST, _problems(error))
        return _render(request, form, status=error.status_code)
    messages.success(
        request, _("The cycle “%(title)s” was created as a draft.") % {"title": cycle.title}
    )
    return back_to("web:cycle-settings", cycle.pk)


@login_required
def settings(request: SignedInRequest, pk: int) -> HttpResponse:
    """GET: the cycle's settings, its sets and what stops it from opening. POST: save the
    settings (an open cycle: its deadlines and reminders, with the reason)."""
    cycle = managed_cycle(request, pk)
    if request.method != "POST":
        return _render(request, pages.build(cycle))
    editable = (
        set(cycle_settings.SETTINGS)
        if cycle.status == Cycle.Status.DRAFT
        else set(cycle_services.EDITABLE_CYCLE_FIELDS)
    )
    data = pages.posted_settings(request.POST, editable)
    try:
        cycle_services.update_cycle(
            cycle.pk,
            cycle_settings.read_sent(data),
            actor=request.user,
            reason=request.POST.get("reason", ""),
            confirm_lock=request.POST.get("confirm_lock", ""),
        )
    except DomainError as error:
        form = pages.build(cycle, request.POST, _problems(error))
        return _render(request, form, status=error.status_code)
    messages.success(request, _("The settings of the cycle were saved."))
    return back_to("web:cycle-settings", cycle.pk)


@login_required
@require_POST
def choose_set(request: SignedInRequest, pk: int) -> HttpResponse:
    """Bind a unit group's criteria set to the draft cycle."""
    cycle = managed_cycle(request, pk)
    chosen = request.POST.get("framework", "")
    framework_id = (
        int(chosen) if chosen.isascii() and chosen.isdigit() and len(chosen) < 19 else None
    )
    try:
        bound = cycle_services.bind_framework(cycle.pk, framework_id, actor=request.user)
    except DomainError as error:
        refuse(request, error)
    else:
        if str(bound.pk) != chosen:
            messages.success(
                request,
                _(
                    "%(group)s will be scored against a copy of the set: “%(title)s”, version %(version)s."
                )
                % {"group": bound.unit_group.name, "title": bound.title, "version": bound.version},
            )
        else:
            messages.success(
                request,
                _("%(group)s will be scored against “%(title)s”, version %(version)s.")
                % {"group": bound.unit_group.name, "title": bound.title, "version": bound.version},
            )
    return back_to("web:cycle-settings", cycle.pk, anchor="sets-title")


@login_required
@require_POST
def open_cycle(request: SignedInRequest, pk: int) -> HttpResponse:
    """Open the cycle: a case with its score rows for every active unit, or the reasons why
    not."""
    cycle = managed_cycle(request, pk)
    try:
        count = cycle_services.open_cycle(cycle.pk, actor=request.user)
    except DomainError as error:
        refuse(request, error)
        return back_to("web:cycle-settings", cycle.pk, anchor="open-title")
    messages.success(
        request,
        _("The cycle is open: %(count)s units can now assess themselves.") % {"count": count},
    )
    return back_to("web:cycle", cycle.pk)
