"""The secretariat records the appraisal council of a cycle: the decision, its people, and
the areas of each member department. One page; each form posts its `action`, which is one
call to `workflow.council`; a refusal is shown beside the form it came from."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext as _

from cases.errors import DomainError, InvalidInput, NotAllowed
from cases.inputs import row_id
from cases.users import SignedInRequest, display_name
from deadlines.calendar import parse_day
from web.pages import council as pages
from web.shortcuts import back_to, managed_cycle
from workflow import council as services

ACTIONS = ("decision", "add_member", "remove_member", "add_area", "remove_area")


def _row_id(post: QueryDict, name: str, refusal: str) -> int:
    """The id of the row a button posts; anything but one is refused as that row not found."""
    found = row_id(post.get(name, ""))
    if found is None:
        raise InvalidInput(refusal)
    return found


@login_required
def council(request: SignedInRequest, pk: int) -> HttpResponse:
    cycle = managed_cycle(request, pk)
    if request.method != "POST":
        return render(request, "web/cycle_council.html", {"page": pages.council_page(cycle)})
    action = request.POST.get("action", "")
    post = request.POST
    try:
        if action == "decision":
            services.form_council(
                cycle.pk,
                post.get("decision_number", ""),
                parse_day(post.get("decision_date", "")),
                post.get("decision_signer", ""),
                actor=request.user,
            )
            said = _("The decision forming the council was recorded.")
        elif action == "add_member":
            member = services.add_member(
                cycle.pk,
                post.get("user", ""),
                post.get("role", ""),
                post.get("department", ""),
                actor=request.user,
            )
            said = _("%(name)s joined the council.") % {"name": display_name(member.user)}
        elif action == "remove_member":
            member_id = _row_id(post, "member", _("This person is not on the council."))
            services.remove_member(cycle.pk, member_id, actor=request.user)
            said = _("The person was taken off the council.")
        elif action == "add_area":
            row = services.assign_area(
                cycle.pk, post.get("area", ""), post.get("department", ""), actor=request.user
            )
            said = _("Area %(area)s is assigned to %(department)s.") % {
                "area": row.area_code,
                "department": row.department.name,
            }
        elif action == "remove_area":
            row_id = _row_id(post, "row", _("This area is not assigned to that department."))
            services.unassign_area(cycle.pk, row_id, actor=request.user)
            said = _("The area was taken from the department.")
        else:
            raise PermissionDenied
    except NotAllowed as error:
        raise PermissionDenied(str(error.message)) from None
    except DomainError as error:
        page = pages.council_page(cycle)
        form = action if action in ACTIONS else "decision"
        page.errors = {form: [str(error.message), *(str(e) for e in error.errors)]}
        page.posted = {k: str(v) for k, v in post.items() if k != "csrfmiddlewaretoken"}
        return render(request, "web/cycle_council.html", {"page": page}, status=error.status_code)
    messages.success(request, said)
    return back_to("web:council", cycle.pk)
