"""Whole cycles: the secretariat's overview, sending results, the leader's publication."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from cases import permissions
from cases.errors import DomainError
from cases.inputs import row_id
from cases.models import Case, Cycle, UnitGroup
from cases.users import SignedInRequest, User
from web import labels, pages
from web.forms import PublishForm
from web.pages.documents import cycle_documents
from web.shortcuts import back_to, cycle_for, refuse
from workflow import cycle_services
from workflow.transitions import TRANSITIONS


@login_required
def cycle_list(request: SignedInRequest) -> HttpResponse:
    if not permissions.may_view_cycles(request.user):
        raise PermissionDenied
    cycles = Cycle.objects.order_by("-year", "title")
    context = {"cycles": cycles, "may_manage": permissions.may_manage_cycle(request.user)}
    return render(request, "web/cycle_list.html", context)


@login_required
def overview(request: SignedInRequest, pk: int) -> HttpResponse:
    """Every case of the cycle: counts per state, who is late, progress of each unit."""
    cycle = cycle_for(request, pk)
    now = timezone.now()
    filters = {k: request.GET.get(k, "") for k in pages.OVERVIEW_FILTERS}
    progress = pages.cycle_progress(cycle, now)
    context = {
        "cycle": cycle,
        "progress": progress,
        "rows": pages.overview_rows(cycle, now, filters),
        "filters": filters,
        "groups": UnitGroup.objects.order_by("code"),
        "states": Case.State.choices,
        "may_manage": permissions.may_manage_cycle(request.user),
        "bulk_steps": _bulk_steps(request.user, cycle),
        "downloads": cycle_documents(
            cycle, request.user, None, {s.state: s.count for s in progress.states}
        ),
    }
    return render(request, "web/cycle_overview.html", context)


def _bulk_steps(user: User, cycle: Cycle) -> list[tuple[str, str]]:
    """The steps this user may run on a selection of cases (each case is still checked)."""
    if cycle.status != Cycle.Status.OPEN:
        return []
    held = permissions.global_case_perms(user)
    return [
        (name, labels.transition_label(name))
        for name in cycle_services.BULK_TRANSITIONS
        if TRANSITIONS[name].perm in held
    ]


@login_required
@require_POST
def bulk_step(request: SignedInRequest, pk: int) -> HttpResponse:
    """One step on the cases selected on the overview; each refusal is listed by unit."""
    cycle = cycle_for(request, pk)
    name = request.POST.get("step", "")
    try:
        outcome = cycle_services.run_transition_for_cases(
            cycle.pk,
            [i for i in map(row_id, request.POST.getlist("case")) if i is not None],
            name,
            actor=request.user,
        )
    except DomainError as error:
        refuse(request, error)
        return back_to("web:cycle", cycle.pk, anchor="cases-title")
    step = labels.transition_label(name)
    if outcome.done:
        messages.success(
            request,
            ngettext(
                "%(step)s: done for %(n)d case.",
                "%(step)s: done for %(n)d cases.",
                len(outcome.done),
            )
            % {"step": step, "n": len(outcome.done)},
        )
    for case, refusal in outcome.refused:
        said = " ".join([str(refusal.message), *(str(r) for r in refusal.errors)])
        messages.error(request, f"{case.unit.code} – {case.unit.name}: {said}")
    return back_to("web:cycle", cycle.pk, anchor="cases-title")


@login_required
@require_POST
def submit_results(request: SignedInRequest, pk: int) -> HttpResponse:
    cycle = cycle_for(request, pk)
    try:
        cycle_services.submit_results(cycle.pk, actor=request.user)
    except DomainError as error:
        refuse(request, error)
    else:
        messages.success(request, _("The results were sent to the leader for approval."))
    return back_to("web:cycle", cycle.pk)


@login_required
def publish(request: SignedInRequest, pk: int) -> HttpResponse:
    """The leader approves and publishes every case of the cycle, with the decision."""
    cycle = cycle_for(request, pk, "cases.publish_case")
    form = PublishForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            count = cycle_services.publish_cycle(cycle.pk, actor=request.user, **form.cleaned_data)
        except DomainError as error:
            form.add_error(None, str(error.message))
            for reason in error.errors:
                form.add_error(None, str(reason))
        else:
            messages.success(
                request, _("The results of %(count)s units were published.") % {"count": count}
            )
            return back_to("web:results", cycle.pk)
    progress = pages.cycle_progress(cycle, timezone.now())
    status = 400 if form.errors else 200
    context = {"cycle": cycle, "form": form, "progress": progress}
    return render(request, "web/cycle_publish.html", context, status=status)
