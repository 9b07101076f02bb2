"""Results: the ranking of each unit group with its chart, each unit's areas, the export.

Public once the cycle is published (no sign-in needed); before, only the secretariat, the
leader and the auditor see them (`results.api.results_cycle` decides, as for the
API). The leader takes a unit out of the ranking here, with the reason.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases import permissions
from cases.errors import DomainError, NotAllowed, NotFound
from cases.models import Cycle
from cases.users import SignedInRequest
from deadlines.calendar import typed_day
from results import services
from results.api import results_cycle
from results.ranking import compute_results
from web import pages
from web.pages.documents import cycle_documents
from web.shortcuts import back_to, refuse


def _cycle(request: HttpRequest, pk: int) -> Cycle:
    try:
        return results_cycle(request.user, pk)
    except NotFound as error:
        raise Http404(str(error.message)) from None
    except NotAllowed as error:
        raise PermissionDenied(str(error.message)) from None


def ranking(request: HttpRequest, pk: int) -> HttpResponse:
    computed = compute_results(_cycle(request, pk))
    context = {
        "cycle": computed.cycle,
        "computed": computed,
        "groups": pages.results_view(computed),
        "may_decide": permissions.may_decide_results(request.user),
        "downloads": cycle_documents(computed.cycle, request.user, computed),
    }
    return render(request, "web/results.html", context)


def unit(request: HttpRequest, pk: int, code: str) -> HttpResponse:
    computed = compute_results(_cycle(request, pk))
    found = pages.unit_result(computed, code)
    if found is None:
        raise Http404
    group, row = found
    context = {
        "cycle": computed.cycle,
        "computed": computed,
        "group": group,
        "row": row,
        "chart": pages.area_chart(row),
        "may_decide": permissions.may_decide_results(request.user)
        and computed.cycle.status != Cycle.Status.PUBLISHED,
        "honesty": permissions.may_view_honesty(request.user),
    }
    return render(request, "web/results_unit.html", context)


@login_required
@require_POST
def exclusion(request: SignedInRequest, pk: int, code: str) -> HttpResponse:
    """The leader excludes the unit from the ranking (or ranks it again), with the reason."""
    computed = compute_results(_cycle(request, pk))
    found = pages.unit_result(computed, code)
    if found is None:
        raise Http404
    _group, row = found
    reason = request.POST.get("reason", "")
    try:
        if row.excluded:
            services.reinstate_in_ranking(row.case_id, reason, actor=request.user)
            messages.success(request, _("%(unit)s is ranked again.") % {"unit": row.unit_name})
        else:
            services.exclude_from_ranking(
                row.case_id,
                reason,
                actor=request.user,
                follow_up_by=request.POST.get("follow_up_by", ""),
                follow_up_due=typed_day(
                    request.POST.get("follow_up_due", ""), services.follow_up_due_label()
                ),
            )
            messages.success(request, _("%(unit)s is no longer ranked.") % {"unit": row.unit_name})
    except (NotFound, NotAllowed) as error:
        raise PermissionDenied(str(error.message)) from None
    except DomainError as error:
        refuse(request, error)
    return back_to("web:result-unit", pk, code)
