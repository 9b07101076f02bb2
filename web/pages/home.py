"""The home page of each role, the appraiser's work list and the secretariat's cycle."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from cases import permissions
from cases.models import (
    NOT_SELF_SCORED,
    AppraiserAssignment,
    Case,
    Cycle,
    Score,
)
from deadlines import policy
from deadlines.calendar import last_day, local_date
from web import charts
from web.pages.common import (
    APPRAISAL_STATES,
    Deadline,
    Viewer,
    self_deadline,
    self_progress,
)
from web.timing import time_left
from workflow.models import Clarification

# --- the unit's home ---------------------------------------------------------------------


@dataclass
class UnitCard:
    case: Case
    deadline: Deadline
    scored: int
    total: int
    open_questions: int
    may_submit: bool
    next_step: str
    answers_due: Deadline | None = None


def next_step(case: Case, *, may_submit: bool, deadline: Deadline, open_questions: int) -> str:
    """What the unit should do now, in one sentence."""
    state = case.state
    if state == Case.State.SELF_SCORING:
        if deadline.passed:
            return _(
                "The self-assessment deadline has passed: the case will be locked with what was entered."
            )
        if may_submit:
            return _("Enter the self scores with their evidence, then submit before the deadline.")
        return _("Enter the self scores with their evidence; the head of the unit submits them.")
    if state == Case.State.SUBMITTED:
        return _("Submitted. The appraisal council will start the appraisal.")
    if state == Case.State.APPRAISING:
        return _("The appraisal council is appraising your self-assessment.")
    if state == Case.State.EXPLANATION:
        if open_questions and may_submit:
            return _("Answer the council's questions, then send the explanation.")
        if open_questions:
            return _("Answer the council's questions; the head of the unit sends the explanation.")
        return _("Every question is answered: the head of the unit sends the explanation.")
    if state == Case.State.FINALISED:
        return _("The results are finalised and wait for approval.")
    return _("The results are published.")


def _open_questions(case_ids: list[int]) -> dict[int, int]:
    return dict(
        Clarification.objects.filter(case_id__in=case_ids, status=Clarification.Status.OPEN)
        .values("case_id")
        .annotate(n=Count("pk"))
        .values_list("case_id", "n")
    )


def unit_cards(viewer: Viewer, now: datetime) -> list[UnitCard]:
    cases = list(
        permissions.visible_cases(viewer.user)
        .filter(unit_id__in=viewer.unit_ids)
        .select_related("cycle", "unit", "unit__group")
        .order_by("-cycle__year", "unit__code")[:20]
    )
    progress = self_progress([c.pk for c in cases])
    questions = _open_questions([c.pk for c in cases])
    cards = []
    for case in cases:
        deadline = self_deadline(case, now)
        may_submit = permissions.has_case_perm(viewer.user, "submit_case", case)
        answers_due = None
        if case.state == Case.State.EXPLANATION:
            due_at = Clarification.objects.answer_due_at(case)
            if due_at is not None:
                answers_due = Deadline(last_day(due_at), time_left(due_at, now))
        cards.append(
            UnitCard(
                case=case,
                deadline=deadline,
                total=progress.get(case.pk, (0, 0, 0))[0],
                scored=progress.get(case.pk, (0, 0, 0))[1],
                open_questions=questions.get(case.pk, 0),
                may_submit=may_submit,
                next_step=next_step(
                    case,
                    may_submit=may_submit,
                    deadline=deadline,
                    open_questions=questions.get(case.pk, 0),
                ),
                answers_due=answers_due,
            )
        )
    return cards


# --- the appraiser's work list -----------------------------------------------------------


@dataclass
class AreaWork:
    code: str
    title: str
    total: int = 0
    done: int = 0
    open_questions: int = 0


@dataclass
class WorkItem:
    case: Case
    areas: list[AreaWork] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(a.total for a in self.areas)

    @property
    def done(self) -> int:
        return sum(a.done for a in self.areas)


def appraisable(viewer: Viewer) -> QuerySet[Case]:
    """Cases where the viewer holds the appraisal permission (never their own unit's)."""
    return permissions.appraisable_cases(viewer.user)


def work_list(viewer: Viewer) -> list[WorkItem]:
    """Cases being appraised, by case and by the viewer's areas: how much is left."""
    assigned: dict[int, set[str]] = defaultdict(set)
    for cycle_id, code in AppraiserAssignment.objects.filter(user=viewer.user).values_list(
        "cycle_id", "area_code"
    ):
        assigned[cycle_id].add(code)
    cases = list(
        appraisable(viewer)
        .filter(cycle_id__in=list(assigned), state__in=APPRAISAL_STATES)
        .select_related("cycle", "unit", "unit__group")
        .order_by("cycle_id", "unit__group__code", "unit__code")
    )
    items = {c.pk: WorkItem(case=c) for c in cases}
    areas: dict[tuple[int, str], AreaWork] = {}
    codes = {code for codes in assigned.values() for code in codes}
    rows = (
        Score.objects.filter(case_id__in=list(items), criterion__area__code__in=codes)
        .exclude(criterion__method__in=NOT_SELF_SCORED)
        .values("case_id", "criterion__area__code", "criterion__area__title")
        .annotate(total=Count("pk"), done=Count("pk", filter=Q(appraised_round__isnull=False)))
        .order_by("case_id", "criterion__area__position")
    )
    for row in rows:
        case = items[row["case_id"]].case
        if row["criterion__area__code"] not in assigned[case.cycle_id]:
            continue
        work = AreaWork(
            row["criterion__area__code"], row["criterion__area__title"], row["total"], row["done"]
        )
        areas[(case.pk, work.code)] = work
        items[case.pk].areas.append(work)
    for case_id, code, n in (
        Clarification.objects.filter(case_id__in=list(items), status=Clarification.Status.OPEN)
        .values("case_id", "criterion__area__code")
        .annotate(n=Count("pk"))
        .values_list("case_id", "criterion__area__code", "n")
    ):
        if (case_id, code) in areas:
            areas[(case_id, code)].open_questions = n
    return [item for item in items.values() if item.areas]


# --- the secretariat's cycle -------------------------------------------------------------


@dataclass
class StateCount:
    state: str
    label: str
    count: int


@dataclass
class CycleProgress:
    cycle: Cycle
    total: int
    states: list[StateCount]
    late: list[Case]
    late_count: int
    chart: charts.BarChart
    report_overdue: bool = False  # the appraisal report date passed, results not sent
    publication_overdue: bool = False  # the publication target passed, not published
    survey_overdue: bool = False  # the survey date passed, survey scores missing

    @property
    def all_finalised(self) -> bool:
        """Every case's scores are final: only then can the results go for approval."""
        done = sum(s.count for s in self.states if s.state == Case.State.FINALISED)
        return self.total > 0 and done == self.total


def late_cases(cycle: Cycle, now: datetime) -> QuerySet[Case]:
    """Cases late now: locked at the cutoff, or still self-scoring after their deadline, or
    with questions left unanswered past their window."""
    late = Q(is_late=True)
    # A deadline date is past once its day has ended in Vietnam (extensions included).
    late |= Q(state=Case.State.SELF_SCORING, self_due__lt=local_date(now))
    overdue_answers = Clarification.objects.filter(
        status=Clarification.Status.OPEN, due_at__lte=now
    ).values("case_id")
    late |= Q(state=Case.State.EXPLANATION, pk__in=overdue_answers)
    return (
        Case.objects.filter(cycle=cycle).annotate(self_due=policy.effective_self_due()).filter(late)
    )


def cycle_progress(cycle: Cycle, now: datetime, *, late_limit: int = 20) -> CycleProgress:
    counts = dict(
        Case.objects.filter(cycle=cycle)
        .order_by()
        .values("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    states = [StateCount(s.value, str(s.label), counts.get(s.value, 0)) for s in Case.State]
    late_qs = late_cases(cycle, now)
    late = list(late_qs.select_related("unit").order_by("unit__code")[:late_limit])
    late_count = len(late) if len(late) < late_limit else late_qs.count()
    chart = charts.bar_chart(
        [(s.label, Decimal(s.count)) for s in states],
        title=_("Cases by state"),
        unit=_("cases"),
        classes=[f"state-{s.state}" for s in states],
    )
    return CycleProgress(
        cycle=cycle,
        total=sum(counts.values()),
        states=states,
        late=late,
        late_count=late_count,
        chart=chart,
        report_overdue=policy.report_overdue(cycle, now),
        publication_overdue=policy.publication_overdue(cycle, now),
        survey_overdue=policy.survey_overdue(cycle, now),
    )


@dataclass(frozen=True)
class OverviewRow:
    case_id: int
    unit_code: str
    unit_name: str
    group: str
    state: str
    state_label: str
    is_late: bool
    scored: int
    total: int
    appraised: int
    submitted_at: datetime | None
    self_due: date
    extended: bool


OVERVIEW_FILTERS = ("state", "group", "late", "q")


def overview_rows(cycle: Cycle, now: datetime, filters: dict[str, str]) -> list[OverviewRow]:
    """Every case of the cycle with its progress: two queries whatever the number of cases."""
    cases = Case.objects.filter(cycle=cycle)
    if any("\x00" in value for value in filters.values()):
        return []  # no unit holds a NUL, and PostgreSQL refuses to compare one
    if filters.get("state") in Case.State.values:
        cases = cases.filter(state=filters["state"])
    if filters.get("group"):
        cases = cases.filter(unit__group__code=filters["group"])
    if filters.get("late"):
        cases = cases.filter(pk__in=late_cases(cycle, now).values("pk"))
    if filters.get("q"):
        q = filters["q"].strip()
        cases = cases.filter(Q(unit__code__icontains=q) | Q(unit__name__icontains=q))
    rows = (
        cases.annotate(self_due=policy.effective_self_due())
        .order_by("unit__group__code", "unit__code")
        .values_list(
            "pk",
            "unit__code",
            "unit__name",
            "unit__group__name",
            "state",
            "is_late",
            "submitted_at",
            "self_due",
        )
    )
    progress = self_progress(cases)
    out = []
    for pk, code, name, group, state, is_late, submitted_at, self_due in rows:
        total, scored, appraised = progress.get(pk, (0, 0, 0))
        out.append(
            OverviewRow(
                pk,
                code,
                name,
                group,
                state,
                Case.state_text(state, is_late),
                is_late,
                scored,
                total,
                appraised,
                submitted_at,
                self_due,
                self_due != cycle.self_assessment_due,
            )
        )
    return out


# --- home --------------------------------------------------------------------------------


def home(viewer: Viewer, now: datetime) -> dict[str, Any]:
    """One home per role; a user with several roles sees each part."""
    context: dict[str, Any] = {"viewer": viewer}
    if viewer.unit_ids:
        context["unit_cards"] = unit_cards(viewer, now)
    if viewer.is_appraiser:
        context["work"] = work_list(viewer)
    if viewer.sees_cycles:
        open_cycles = Cycle.objects.exclude(status=Cycle.Status.DRAFT).order_by("-year", "pk")
        context["progress"] = [cycle_progress(c, now) for c in open_cycles[:3]]
    if viewer.is_leader:
        context["awaiting"] = list(
            Cycle.objects.filter(status=Cycle.Status.RESULTS_SUBMITTED).order_by("-year")
        )
    return context
