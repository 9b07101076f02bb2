"""The case pages of a unit: the score sheet with autosave, its steps, and its history."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.errors import DomainError, GuardFailed, NotAllowed
from cases.models import Case, Score
from cases.totals import totals_for
from cases.users import SignedInRequest
from deadlines import services as deadline_services
from web import labels, pages
from web.forms import ExtensionForm, SelfScoreForm
from web.pages.history import case_history
from web.shortcuts import HtmxHttpRequest, back_to, case_for, refuse
from workflow import services
from workflow.transitions import USER_TRANSITIONS


@login_required
def sheet(request: SignedInRequest, pk: int) -> HttpResponse:
    case = case_for(request, pk)
    return render_sheet(request, case, show_checklist=request.GET.get("check") == "submit")


def render_sheet(
    request: SignedInRequest,
    case: Case,
    *,
    show_checklist: bool = False,
    posted: tuple[str, dict[str, Any], dict[str, list[str]]] | None = None,
    extension_form: ExtensionForm | None = None,
    upload_error: tuple[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The score sheet; after a refused form, with what was typed and the errors."""
    sheet = pages.score_sheet(case, request.user, timezone.now())
    if posted is not None:
        pages.attach_posted(sheet, *posted)
    if upload_error is not None:
        pages.attach_upload_error(sheet, *upload_error)
    if extension_form is None and sheet.may_extend:
        extension_form = ExtensionForm(initial={"kind": pages.EXTENDABLE[case.state]})
    context = {
        "case": case,
        "sheet": sheet,
        "show_checklist": show_checklist,
        "extension_form": extension_form,
    }
    return render(request, "web/case_sheet.html", context, status=status)


@login_required
@require_POST
def save_self_score(request: HtmxHttpRequest, pk: int, code: str) -> HttpResponse:
    """Autosave of one leaf (HTMX), or the same form posted without JavaScript."""
    case = case_for(request, pk, "edit_self_score")
    criterion = pages.leaf(case, code)
    if criterion is None:
        raise Http404
    form = SelfScoreForm(request.POST, criterion=criterion)
    score = None
    if form.is_valid():
        try:
            score = services.set_self_score(case.pk, code, actor=request.user, change=form.change())
        except DomainError as error:
            form.add_error(None, str(error.message))
    if request.htmx:
        return _saved_fragment(request, case, criterion.code, form, score)
    if score is not None:
        messages.success(request, labels.saved_message(criterion.code))
        return back_to("web:case", case.pk, anchor=pages.anchor(criterion.code))
    posted = (criterion.code, request.POST.dict(), form.field_errors())
    return render_sheet(request, case, posted=posted, status=400)


def _saved_fragment(
    request: SignedInRequest, case: Case, code: str, form: SelfScoreForm, score: Score | None
) -> HttpResponse:
    """The row's status, errors, version and the area's progress, swapped in place so that
    the field being typed in keeps its focus."""
    current = score or Score.objects.of_leaf(case, code).select_related("criterion").get()
    progress = pages.area_progress(case, current.criterion.area_id)
    context: dict[str, Any] = {
        "case": case,
        "score": current,
        "saved": score is not None,
        "errors": form.field_errors(),
        "anchor": pages.anchor(code),
        "area_anchor": pages.area_anchor(current.criterion),
        "scored": progress.area_scored,
        "total": progress.area_total,
        "totals": totals_for([case])[case.pk],
        "case_scored": progress.case_scored,
        "case_total": progress.case_total,
        "now": timezone.now(),
    }
    return render(request, "web/partials/score_saved.html", context, status=200 if score else 400)


@login_required
@require_POST
def transition(request: SignedInRequest, pk: int, name: str) -> HttpResponse:
    """Run one step of the case; a refusal comes back with every reason, nothing changed."""
    if name not in USER_TRANSITIONS:
        raise Http404
    case = case_for(request, pk)
    try:
        services.run_transition(
            case.pk, name, actor=request.user, comment=request.POST.get("comment", "")
        )
    except GuardFailed as error:
        if name == "submit":
            # The checklist the page opens lists every reason once, by criterion, linked.
            below = _("What is missing is listed below.")
            messages.error(request, f"{error.message} {below}")
            return back_to("web:case", case.pk, query="check=submit", anchor="checklist")
        refuse(request, error)
        return back_to(_page(request), case.pk)
    except DomainError as error:
        refuse(request, error)
        return back_to(_page(request), case.pk)
    messages.success(request, labels.done_message(name))
    return back_to(_page(request), case.pk)


def _page(request: SignedInRequest) -> str:
    """Which page of the case the step was taken from (only these two)."""
    return "web:appraisal" if request.POST.get("back") == "appraisal" else "web:case"


@login_required
@require_POST
def extend(request: SignedInRequest, pk: int) -> HttpResponse:
    """The secretariat grants the unit a later deadline, with the reason."""
    case = case_for(request, pk)
    try:  # asked before the form is read: the refusal says nothing of what it would need
        deadline_services.require_extender(request.user, case)
    except NotAllowed as error:
        raise PermissionDenied(str(error.message)) from None
    form = ExtensionForm(request.POST)
    if form.is_valid():
        try:
            extension = deadline_services.grant_extension(
                case.pk, actor=request.user, **form.cleaned_data
            )
        except NotAllowed as error:
            raise PermissionDenied(str(error.message)) from None
        except DomainError as error:
            form.add_error(None, str(error.message))
    if form.errors:
        return render_sheet(request, case, extension_form=form, status=400)
    when = date_format(extension.due_date, "SHORT_DATE_FORMAT")
    messages.success(request, _("The deadline was extended to %(date)s.") % {"date": when})
    return back_to("web:case", case.pk, anchor="deadlines")


@login_required
def history(request: SignedInRequest, pk: int) -> HttpResponse:
    case = case_for(request, pk)
    context = {"case": case, "history": case_history(case, request.GET.get("kind", ""))}
    return render(request, "web/case_history.html", context)
