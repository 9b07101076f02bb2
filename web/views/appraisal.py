"""Appraisal and explanation: the side-by-side view, the appraiser's scores and questions,
the unit's answers."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from cases.errors import DomainError
from cases.models import Case, Score
from cases.users import SignedInRequest
from deadlines import policy
from web import pages, rows
from web.forms import AnswerForm, AppraisalForm, QuestionForm, field_errors
from web.shortcuts import HtmxHttpRequest, back_to, case_for, refuse
from workflow import services
from workflow.models import Clarification


@login_required
def side_by_side(request: SignedInRequest, pk: int) -> HttpResponse:
    case = case_for(request, pk)
    sheet = pages.appraisal_sheet(case, request.user, timezone.now(), request.GET.get("area", ""))
    return render_appraisal(request, case, sheet)


def render_appraisal(
    request: SignedInRequest, case: Case, sheet: pages.AppraisalSheet, status: int = 200
) -> HttpResponse:
    context = {
        "case": case,
        "sheet": sheet,
        "row_page": rows.SheetContext.for_page(request, case, "appraisal"),
    }
    return render(request, "web/case_appraisal.html", context, status=status)


@login_required
@require_POST
def save_appraisal(request: HtmxHttpRequest, pk: int, code: str) -> HttpResponse:
    case = case_for(request, pk, "appraise_case")
    current = Score.objects.filter(case=case, criterion__code=code).select_related(
        "criterion", "criterion__area"
    )
    score = current.first()
    if score is None or not score.criterion.is_leaf:
        raise Http404
    na_claimed = score.not_applicable or bool(score.not_applicable_decision)
    late = policy.late_penalty(case, score.criterion)
    form = AppraisalForm(
        request.POST,
        criterion=score.criterion,
        self_score=score.self_score,
        na_claimed=na_claimed,
        proposed=late.points if late is not None else None,
    )
    saved = None
    if form.is_valid():
        change = form.change()
        try:
            if form.decision:
                saved = services.decide_not_applicable(
                    case.pk,
                    code,
                    actor=request.user,
                    confirm=form.decision == "confirm",
                    reason=change.comment,
                    appraised_score=change.appraised_score,
                    version=change.version,
                )
            else:
                saved = services.set_appraised_score(
                    case.pk, code, actor=request.user, change=change
                )
        except DomainError as error:
            form.add_error(None, str(error.message))
    if request.htmx:
        context = {
            "score": saved or score,
            "saved": saved is not None,
            "errors": field_errors(form),
            "anchor": pages.anchor(code),
            "now": timezone.now(),
        }
        status = 200 if saved else 400
        return render(request, "web/partials/appraisal_saved.html", context, status=status)
    if saved is not None:
        messages.success(request, _("Criterion %(code)s appraised.") % {"code": code})
        return back_to("web:appraisal", case.pk, anchor=pages.anchor(code))
    sheet = pages.appraisal_sheet(case, request.user, timezone.now())
    pages.attach_appraisal_posted(sheet, code, request.POST.dict(), field_errors(form))
    return render_appraisal(request, case, sheet, status=400)


@login_required
@require_POST
def ask(request: SignedInRequest, pk: int) -> HttpResponse:
    """An appraiser's question on a criterion; sent to the unit with the next request."""
    case = case_for(request, pk, "ask_clarification")
    form = QuestionForm(request.POST)
    code = request.POST.get("criterion", "")
    if form.is_valid():
        try:
            services.ask_clarification(
                case.pk, code, form.cleaned_data["question"], actor=request.user
            )
        except DomainError as error:
            form.add_error("question", str(error.message))
    if not form.errors:
        messages.success(request, _("The question on %(code)s was saved.") % {"code": code})
        return back_to("web:appraisal", case.pk, anchor=pages.anchor(code))
    sheet = pages.appraisal_sheet(case, request.user, timezone.now())
    pages.attach_appraisal_posted(sheet, code, request.POST.dict(), field_errors(form))
    if not pages.shows_question_field(sheet, code):
        for message in field_errors(form).get("question", []):
            messages.error(request, message)
    return render_appraisal(request, case, sheet, status=400)


@login_required
@require_POST
def answer(request: SignedInRequest, pk: int) -> HttpResponse:
    """The unit's answer to one question (the head then sends the explanation)."""
    question = get_object_or_404(Clarification.objects.select_related("criterion"), pk=pk)
    case = case_for(request, question.case_id, "answer_clarification")
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            services.answer_clarification(pk, form.cleaned_data["answer"], actor=request.user)
        except DomainError as error:
            form.add_error("answer", str(error.message))
    if not form.errors:
        messages.success(request, _("Your answer was saved."))
        return back_to("web:appraisal", case.pk, anchor=pages.anchor(question.criterion.code))
    sheet = pages.appraisal_sheet(case, request.user, timezone.now())
    sheet.answer_errors = {question.pk: field_errors(form).get("answer", [])}
    sheet.answer_posted = {question.pk: request.POST.get("answer", "")}
    return render_appraisal(request, case, sheet, status=400)


@login_required
@require_POST
def agree_area(request: SignedInRequest, pk: int) -> HttpResponse:
    """The appraiser agrees with the unit's self scores for one whole area."""
    case = case_for(request, pk, "appraise_case")
    area = request.POST.get("area", "")
    try:
        outcome = services.agree_with_self_scores(case.pk, area, actor=request.user)
    except DomainError as error:
        refuse(request, error)
        return back_to("web:appraisal", case.pk)
    messages.success(
        request,
        ngettext(
            "Area %(area)s: %(n)d criterion appraised at the unit's own score.",
            "Area %(area)s: %(n)d criteria appraised at the unit's own score.",
            len(outcome.agreed),
        )
        % {"area": area, "n": len(outcome.agreed)},
    )
    if outcome.left:
        left = "; ".join(f"{code} ({why})" for code, why in outcome.left.items())
        messages.warning(
            request,
            _("These criteria need your own appraisal: %(left)s.") % {"left": left},
        )
    return back_to("web:appraisal", case.pk, anchor="a-" + area.replace(".", "-"))
