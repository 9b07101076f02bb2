"""The transition table: for each transition, who may run it and what must be true.

docs/architecture.md "Transitions" describes the skeleton. The state change itself is the django-fsm method on `Case`;
the service in `workflow.services` runs every transition through the same skeleton.
A guard returns the list of reasons it refuses (empty when satisfied), in the user's words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cases.models import NOT_SELF_SCORED, Case
from deadlines import policy
from deadlines.calendar import is_past, last_day
from workflow.models import Clarification

Guard = Callable[[Case, datetime, dict[str, Any]], list[str]]


def _date(day: Any) -> str:
    return date_format(day, "d/m/Y")


def before_self_deadline(case: Case, now: datetime, params: dict[str, Any]) -> list[str]:
    due = policy.self_assessment_due(case)
    if is_past(due, now):
        return [_("The self-assessment deadline passed on %(date)s.") % {"date": _date(due)}]
    return []


def after_self_deadline(case: Case, now: datetime, params: dict[str, Any]) -> list[str]:
    due = policy.self_assessment_due(case)
    if not is_past(due, now):
        return [
            _("The self-assessment deadline (%(date)s) has not passed yet.") % {"date": _date(due)}
        ]
    return []


def every_criterion_self_scored(case: Case, now: datetime, params: dict[str, Any]) -> list[str]:
    return [
        _("Criterion %(code)s has no self score.") % {"code": s.criterion.code}
        for s in case.snapshot_rows()
        if s.self_score is None
        and not s.not_applicable
        and s.criterion.method not in NOT_SELF_SCORED
    ]


def not_applicable_has_reason(case: Case, now: datetime, params: dict[str, Any]) -> list[str]:
    return [
        _("Criterion %(code)s is marked not applicable without a reason.")
        % {"code": s.criterion.code}
        for s in case.snapshot_rows()
        if s.not_applicable and not s.not_applicable_reason.strip()
    ]


def has_unsent_question(case: Case, now: datetime, params: dict[str, Any]) -> list[str]:
    if not Clarification.objects.filter(
        case=case, round=case.appraisal_round, status=Clarification.Status.OPEN, due_at__isnull=True
    ).exists():
        return [_("Ask at least one clarification question before requesting an explanation.")]
    return []


def before_answer_date(case: Case, now: datetime, params: dict[str, Any]) -> list[str]:
    """The explanation is sent before the (possibly extended) answer date ends, not after."""
    due_at = Clarification.objects.answer_due_at(case)
    if due_at is not None and now >= due_at:
        return [_("The answer window closed on %(date)s.") % {"date": _date(last_day(due_at))}]
    return []


def every_question_answered(case: Case, now: datetime, params: dict[str, Any]) -> list[str]:
    codes = (
        Clarification.objects.filter(case=case, status=Clarification.Status.OPEN)
        .order_by("criterion__position")
        .values_list("criterion__code", flat=True)
    )
    return [_("The question on criterion %(code)s has no answer.") % {"code": c} for c in codes]


# A case's open questions as (id, answer date) pairs, oldest first: read once for the guard
# below and the follow-up that expires them (`workflow.services`), and for a whole batch of
# the sweep at once (`read_open_questions`).
OPEN_QUESTIONS = "_open_questions"


def read_open_questions(cases: list[Case]) -> None:
    """The open questions of these (locked) cases, in one query whatever their number."""
    read: dict[int, list[tuple[int, datetime | None]]] = {case.pk: [] for case in cases}
    for case_id, pk, due_at in (
        Clarification.objects.filter(case_id__any=set(read), status=Clarification.Status.OPEN)
        .order_by("case_id", "asked_at", "pk")
        .values_list("case_id", "pk", "due_at")
    ):
        read[case_id].append((pk, due_at))
    for case in cases:
        case.__dict__[OPEN_QUESTIONS] = read[case.pk]


def open_questions(case: Case) -> list[tuple[int, datetime | None]]:
    if OPEN_QUESTIONS not in case.__dict__:
        read_open_questions([case])
    found: list[tuple[int, datetime | None]] = case.__dict__[OPEN_QUESTIONS]
    return found


def explanation_window_passed(case: Case, now: datetime, params: dict[str, Any]) -> list[str]:
    if any(due_at is not None and due_at > now for _pk, due_at in open_questions(case)):
        return [_("The answer window has not closed yet.")]
    return []


def every_criterion_appraised(case: Case, now: datetime, params: dict[str, Any]) -> list[str]:
    return [
        _("Criterion %(code)s has not been appraised.") % {"code": s.criterion.code}
        for s in case.snapshot_rows()
        if s.appraised_round is None and s.criterion.method not in NOT_SELF_SCORED
    ]


def no_open_question(case: Case, now: datetime, params: dict[str, Any]) -> list[str]:
    codes = (
        Clarification.objects.filter(case=case, status=Clarification.Status.OPEN)
        .order_by("criterion__position")
        .values_list("criterion__code", flat=True)
    )
    return [_("The question on criterion %(code)s is still open.") % {"code": c} for c in codes]


def needs_reason(case: Case, now: datetime, params: dict[str, Any]) -> list[str]:
    if not str(params.get("comment", "")).strip():
        return [_("Give a reason.")]
    return []


@dataclass(frozen=True)
class Spec:
    name: str
    perm: str
    guards: tuple[Guard, ...] = ()
    snapshot: bool = False


TRANSITIONS: dict[str, Spec] = {
    spec.name: spec
    for spec in (
        Spec(
            "submit",
            "submit_case",
            (before_self_deadline, every_criterion_self_scored, not_applicable_has_reason),
            snapshot=True,
        ),
        Spec("recall", "recall_case", (before_self_deadline,)),
        Spec("lock_at_cutoff", "lock_case", (after_self_deadline,), snapshot=True),
        Spec("start_appraisal", "start_appraisal"),
        Spec("request_explanation", "request_explanation", (has_unsent_question,)),
        Spec(
            "submit_explanation",
            "submit_explanation",
            (before_answer_date, every_question_answered),
        ),
        Spec("expire_explanation", "expire_explanation", (explanation_window_passed,)),
        Spec(
            "finalise",
            "finalise_case",
            (every_criterion_appraised, no_open_question),
            snapshot=True,
        ),
        Spec("reopen", "reopen_case", (needs_reason,)),
        Spec("publish", "publish_case", snapshot=True),
    )
}


def register_guard(name: str, guard: Guard) -> None:
    """Add a guard owned by an app above the workflow (evidence's submit rule). Called once
    from that app's AppConfig.ready(); the table stays the one place that is read to know
    what a transition demands."""
    spec = TRANSITIONS[name]
    if guard not in spec.guards:
        TRANSITIONS[name] = replace(spec, guards=(*spec.guards, guard))


# Transitions users may run from the API; the others belong to the sweep or the cycle-wide
# publication, which call the service themselves.
USER_TRANSITIONS = (
    "submit",
    "recall",
    "start_appraisal",
    "request_explanation",
    "submit_explanation",
    "finalise",
    "reopen",
)
