"""Read models of the pages: what each page shows, built in a constant number of queries.

Views stay thin by asking here for their context; nothing here writes. Permissions come
from `cases.permissions`, deadlines from `deadlines.policy`, totals from `cases.totals`, the
rules a transition checks from `workflow.transitions` (the submit checklist runs the very
guards the submit runs, so the page and the refusal can never disagree).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from cases import permissions
from cases.errors import DomainError
from cases.models import (
    Appraisal,
    AppraiserAssignment,
    Case,
    Criterion,
    Cycle,
    Framework,
    Membership,
    Method,
    Score,
)
from cases.totals import CaseTotals, totals_from_scores
from deadlines import policy
from deadlines.calendar import end_of_day, last_day, local_date
from evidence.models import Document, EvidenceLink
from web import charts
from web.timing import TimeLeft, time_left
from workflow import services
from workflow.models import AuditEntry, Clarification
from workflow.transitions import NOT_SELF_SCORED, TRANSITIONS

APPRAISAL_STATES = (Case.State.APPRAISING, Case.State.EXPLANATION)


class Viewer:
    """Who is looking: global roles and scoped ones, each asked once per request."""

    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def roles(self) -> set[str]:
        return permissions.roles_of(self.user)

    @property
    def is_secretariat(self) -> bool:
        return permissions.SECRETARIAT in self.roles

    @property
    def is_leader(self) -> bool:
        return permissions.LEADER in self.roles

    @property
    def is_auditor(self) -> bool:
        return permissions.AUDITOR in self.roles

    @property
    def sees_cycles(self) -> bool:
        """Secretariat, leader and auditor see whole cycles (the permission, already loaded
        with the user's other global permissions, answers without a query of its own)."""
        return bool(self.user.is_authenticated and self.user.has_perm("cases.view_cycle"))

    @cached_property
    def unit_ids(self) -> list[int]:
        if not self.user.is_authenticated:
            return []
        return list(
            Membership.objects.filter(user=self.user).values_list("unit_id", flat=True).distinct()
        )

    @cached_property
    def is_appraiser(self) -> bool:
        return (
            self.user.is_authenticated
            and AppraiserAssignment.objects.filter(user=self.user).exists()
        )


# --- deadlines ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    due: date
    left: TimeLeft

    @property
    def passed(self) -> bool:
        return self.left.passed


def self_deadline(case: Case, now: datetime) -> Deadline:
    due = policy.self_assessment_due(case)
    return Deadline(due, time_left(end_of_day(due), now))


@dataclass
class CaseDeadlines:
    """Every deadline of a case as the page shows it, extensions included."""

    self_assessment: Deadline
    self_extended: bool
    self_cycle_due: date
    self_reason: str
    appraisal_due: date
    explanation: Deadline | None
    explanation_extended: bool


def case_deadlines(case: Case, now: datetime) -> CaseDeadlines:
    figures = policy.case_deadlines(case, now)
    explanation = None
    if figures["explanation_ends_at"] is not None:
        explanation = Deadline(
            figures["explanation_due"], time_left(figures["explanation_ends_at"], now)
        )
    return CaseDeadlines(
        self_assessment=Deadline(
            figures["self_assessment_due"], time_left(figures["self_assessment_ends_at"], now)
        ),
        self_extended=figures["self_assessment_extended"],
        self_cycle_due=figures["self_assessment_cycle_due"],
        self_reason=figures["self_assessment_extension_reason"],
        appraisal_due=figures["appraisal_due"],
        explanation=explanation,
        explanation_extended=figures["explanation_extended"],
    )


# --- the unit's home ---------------------------------------------------------------------


def self_progress(cases: QuerySet[Case] | list[int]) -> dict[int, tuple[int, int, int]]:
    """(self-scorable leaves, self-scored, appraised) per case, in one aggregate query."""
    return {
        case_id: (total, scored, appraised)
        for case_id, total, scored, appraised in Score.objects.filter(case__in=cases)
        .exclude(criterion__method__in=NOT_SELF_SCORED)
        .values("case_id")
        .annotate(
            total=Count("pk"),
            scored=Count("pk", filter=Q(self_score__isnull=False) | Q(not_applicable=True)),
            appraised=Count("pk", filter=Q(appraised_round__isnull=False)),
        )
        .values_list("case_id", "total", "scored", "appraised")
        .order_by()
    }


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
            due_at = policy.explanation_due_at(case)
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
    explanation_overdue: int = 0


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
    labels = {s.value: str(s.label) for s in Case.State}
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
                labels[state],
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


# --- the score sheet ---------------------------------------------------------------------

KINDS = {
    Method.MANUAL: "points",
    Method.YES_NO: "yes_no",
    Method.GRADED: "level",
    Method.PERCENTAGE: "rate",
    Method.DEDUCTION: "count",
    Method.BONUS: "count",
    Method.PENALTY: "count",
    Method.SURVEY: "survey",
}
"""How a unit enters a leaf: typed points, or the figure the method scores."""


def entry_kind(criterion: Criterion) -> str:
    return KINDS.get(criterion.method, "points")


def entry_value(score: Score) -> Any:
    """What the entry field shows: the declared figure where the method scores one."""
    if entry_kind(score.criterion) == "points":
        return score.self_score
    return score.value


def anchor(code: str) -> str:
    """The HTML id of a criterion's row (1.2.3 → c-1-2-3: dots would read as CSS classes)."""
    return "c-" + code.replace(".", "-")


def area_anchor(criterion: Criterion) -> str:
    area = criterion.area if criterion.area_id else criterion
    return "a-" + area.code.replace(".", "-")


@dataclass(frozen=True)
class EvidenceItem:
    """One version of a criterion's evidence, as the sheet lists it."""

    link_id: int
    document_id: int
    version: int
    filename: str
    size: int
    uploaded_at: datetime
    uploader: str
    note: str
    withdrawn: bool
    withdraw_reason: str
    intact: bool


def case_evidence(case: Case) -> dict[int, list[EvidenceItem]]:
    """Every version of every criterion's evidence, newest first, in one light query."""
    found: dict[int, list[EvidenceItem]] = defaultdict(list)
    rows = (
        EvidenceLink.objects.filter(case=case)
        .order_by("criterion_id", "-version")
        .values_list(
            "pk",
            "criterion_id",
            "document_id",
            "version",
            "document__filename",
            "document__size",
            "document__uploaded_at",
            "document__uploaded_by__first_name",
            "document__uploaded_by__last_name",
            "document__uploaded_by__username",
            "note",
            "withdrawn_at",
            "withdraw_reason",
            "document__integrity",
        )
    )
    for (
        pk,
        criterion_id,
        document_id,
        version,
        filename,
        size,
        uploaded_at,
        first,
        last,
        username,
        note,
        withdrawn_at,
        reason,
        integrity,
    ) in rows:
        found[criterion_id].append(
            EvidenceItem(
                pk,
                document_id,
                version,
                filename,
                size,
                uploaded_at,
                f"{first} {last}".strip() or username,
                note,
                withdrawn_at is not None,
                reason,
                integrity == Document.Integrity.OK,
            )
        )
    return found


@dataclass
class Row:
    """One line of the criteria tree; leaves carry their score."""

    criterion: Criterion
    score: Score | None = None
    questions: list[Clarification] = field(default_factory=list)
    evidence: list[Any] = field(default_factory=list)
    posted: dict[str, Any] | None = None
    errors: dict[str, list[str]] | None = None
    rounds: list[Appraisal] = field(default_factory=list)
    may_appraise: bool = False
    may_ask: bool = False
    may_add_evidence: bool = False
    upload_error: str = ""

    @property
    def differs(self) -> bool:
        s = self.score
        return (
            s is not None
            and s.appraised_score is not None
            and s.self_score is not None
            and s.appraised_score != s.self_score
        )

    @property
    def kind(self) -> str:
        return entry_kind(self.criterion)

    @property
    def anchor(self) -> str:
        return anchor(self.criterion.code)

    @property
    def self_scored(self) -> bool:
        return self.criterion.method not in NOT_SELF_SCORED

    @property
    def missing(self) -> bool:
        s = self.score
        return s is not None and self.self_scored and s.self_score is None and not s.not_applicable

    @property
    def entry(self) -> Any:
        if self.posted is not None:
            return self.posted.get("entry", "")
        return entry_value(self.score) if self.score is not None else None

    def value_of(self, name: str) -> Any:
        if self.posted is not None:
            return self.posted.get(name, "")
        return getattr(self.score, name, "")


@dataclass
class AreaBlock:
    area: Criterion
    rows: list[Row]
    scored: int = 0
    total: int = 0
    self_points: Decimal = Decimal(0)
    appraised_points: Decimal = Decimal(0)
    index: Decimal | None = None

    @property
    def anchor(self) -> str:
        return "a-" + self.area.code.replace(".", "-")

    @property
    def progress_id(self) -> str:
        return "progress-" + self.anchor

    @property
    def complete(self) -> bool:
        return self.scored >= self.total


@dataclass
class Sheet:
    case: Case
    areas: list[AreaBlock]
    totals: CaseTotals
    deadlines: CaseDeadlines
    can_edit: bool
    transitions: list[str]
    missing: list[str]
    questions_open: int
    may_extend: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def deadline(self) -> Deadline:
        return self.deadlines.self_assessment

    @property
    def scored(self) -> int:
        return sum(b.scored for b in self.areas)

    @property
    def to_score(self) -> int:
        return sum(b.total for b in self.areas)


def case_scores(case: Case) -> list[Score]:
    """The case's score rows, each with its criterion, the criterion's area, parent and
    framework, in criteria order: what `Case.score_rows()` loads, in two light queries.

    The criteria tree is read once and linked here, so that the hundred leaves of a sheet
    share their headings instead of each row building its own copies through joins.
    """
    framework = Framework.objects.filter(
        cycle_id=case.cycle_id, unit_group_id=case.unit.group_id
    ).first()
    criteria = {c.pk: c for c in Criterion.objects.filter(framework=framework)}
    # The related-object caches are filled the way prefetch_related fills them (the ids
    # are already right), skipping the checks of assignment a few hundred times a page.
    to_framework, to_area, to_parent = (
        Criterion._meta.get_field(name) for name in ("framework", "area", "parent")
    )
    for criterion in criteria.values():
        to_framework.set_cached_value(criterion, framework)
        to_area.set_cached_value(criterion, criteria.get(criterion.area_id))
        to_parent.set_cached_value(criterion, criteria.get(criterion.parent_id))
    to_case, to_criterion = (Score._meta.get_field(name) for name in ("case", "criterion"))
    scores = list(Score.objects.filter(case=case))
    for score in scores:
        to_case.set_cached_value(score, case)
        to_criterion.set_cached_value(score, criteria[score.criterion_id])
    scores.sort(key=lambda score: score.criterion.position)
    return scores


# No question can exist before the appraisal starts (a recall happens before it).
NO_QUESTIONS_YET = (Case.State.SELF_SCORING, Case.State.SUBMITTED)


def case_questions(case: Case) -> dict[int, list[Clarification]]:
    """The case's questions by criterion id, oldest first."""
    questions: dict[int, list[Clarification]] = defaultdict(list)
    if case.state in NO_QUESTIONS_YET:
        return questions
    for q in (
        Clarification.objects.filter(case=case)
        .select_related("asked_by", "answered_by")
        .order_by("asked_at", "pk")
    ):
        questions[q.criterion_id].append(q)
    return questions


def _blocks(
    case: Case,
    scores: list[Score],
    questions: dict[int, list[Clarification]],
    totals: CaseTotals,
    evidence: dict[int, list[EvidenceItem]] | None = None,
) -> list[AreaBlock]:
    # Every heading (area, criterion) is the parent or the area of some leaf: the rows
    # loaded with their leaves carry them, no query of their own.
    nodes: dict[int, Criterion] = {}
    for score in scores:
        for node in (score.criterion.parent, score.criterion.area):
            if node is not None:
                nodes[node.pk] = node
    rows = [Row(criterion=n) for n in nodes.values()] + [
        Row(
            criterion=s.criterion,
            score=s,
            questions=questions.get(s.criterion_id, []),
            evidence=(evidence or {}).get(s.criterion_id, []),
        )
        for s in scores
    ]
    rows.sort(key=lambda r: r.criterion.position)
    blocks: dict[int, AreaBlock] = {}
    area_totals = {a.code: a for a in totals.areas.values()}
    for row in rows:
        criterion = row.criterion
        if criterion.parent_id is None:
            block = blocks[criterion.pk] = AreaBlock(area=criterion, rows=[])
            figures = area_totals.get(criterion.code)
            if figures is not None:
                block.self_points = figures.self_points
                block.appraised_points = figures.appraised_points
                block.index = figures.index
            continue
        block = blocks[criterion.area_id or criterion.parent_id]
        block.rows.append(row)
        if row.score is not None and row.self_scored:
            block.total += 1
            block.scored += not row.missing
    return list(blocks.values())


EXTENDABLE = {
    Case.State.SELF_SCORING: "self_assessment",
    Case.State.SUBMITTED: "self_assessment",
    Case.State.EXPLANATION: "explanation",
}


def may_extend(user: Any, case: Case) -> bool:
    """The secretariat may grant this case a later deadline in its current state."""
    return case.state in EXTENDABLE and user.has_perm("cases.change_cycle")


def submit_checklist(case: Case, now: datetime) -> list[str]:
    """What still stops the submission: the submit transition's own guards, run dry."""
    params: dict[str, Any] = {"comment": ""}
    return [reason for guard in TRANSITIONS["submit"].guards for reason in guard(case, now, params)]


def score_sheet(case: Case, user: Any, now: datetime) -> Sheet:
    scores = case_scores(case)
    questions = case_questions(case)
    totals = totals_from_scores(case, scores)
    deadlines = case_deadlines(case, now)
    transitions = services.available_transitions(case, user)
    can_edit = (
        case.state == Case.State.SELF_SCORING
        and permissions.has_case_perm(user, "edit_self_score", case)
        and not deadlines.self_assessment.passed
    )
    case.__dict__["_score_rows"] = scores  # the guards read the rows loaded above
    missing = submit_checklist(case, now) if "submit" in transitions else []
    blocks = _blocks(case, scores, questions, totals, case_evidence(case))
    for block in blocks:
        for row in block.rows:
            row.may_add_evidence = (
                can_edit and row.score is not None and not row.criterion.is_survey
            )
    return Sheet(
        case=case,
        areas=blocks,
        totals=totals,
        deadlines=deadlines,
        can_edit=can_edit,
        may_extend=may_extend(user, case),
        transitions=transitions,
        missing=missing,
        questions_open=sum(
            1 for qs in questions.values() for q in qs if q.status == Clarification.Status.OPEN
        ),
    )


def attach_posted(
    sheet: Sheet, code: str, posted: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    """Show what was typed into one row, with its errors, when a save without JavaScript
    was refused (the page is drawn again instead of redirecting)."""
    for block in sheet.areas:
        for row in block.rows:
            if row.criterion.code == code:
                row.posted, row.errors = posted, errors


def leaf(case: Case, code: str) -> Criterion | None:
    return (
        Criterion.objects.filter(
            framework__cycle_id=case.cycle_id,
            framework__unit_group_id=case.unit.group_id,
            code=code,
            is_leaf=True,
        )
        .select_related("area")
        .first()
    )


def area_progress(case: Case, area_id: int | None) -> tuple[int, int]:
    """(scored, total) self-scorable leaves of one area, after an autosave."""
    counts = (
        Score.objects.filter(case=case, criterion__area_id=area_id)
        .exclude(criterion__method__in=NOT_SELF_SCORED)
        .aggregate(
            total=Count("pk"),
            scored=Count("pk", filter=Q(self_score__isnull=False) | Q(not_applicable=True)),
        )
    )
    return counts["scored"], counts["total"]


# --- appraisal, side by side -----------------------------------------------------------


@dataclass
class AppraisalSheet:
    case: Case
    areas: list[AreaBlock]
    totals: CaseTotals
    transitions: list[str]
    deadlines: CaseDeadlines
    may_answer: bool
    unsent_questions: int
    open_questions: int
    area_filter: str = ""
    area_choices: list[tuple[str, str]] = field(default_factory=list)
    answer_errors: dict[int, list[str]] = field(default_factory=dict)
    answer_posted: dict[int, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def appraisal_sheet(case: Case, user: Any, now: datetime, area: str = "") -> AppraisalSheet:
    """Self against appraised for every leaf, its rounds, its questions and answers; the
    forms a viewer may use are flagged per row (their areas only, in the right state)."""
    scores = case_scores(case)
    questions = case_questions(case)
    rounds: dict[int, list[Appraisal]] = defaultdict(list)
    for a in (
        Appraisal.objects.filter(score__case=case).select_related("appraiser").order_by("round")
    ):
        rounds[a.score_id].append(a)
    totals = totals_from_scores(case, scores)
    blocks = _blocks(case, scores, questions, totals, case_evidence(case))
    allowed = permissions.assigned_area_codes(user, case)
    appraising = case.state == Case.State.APPRAISING
    may_answer = case.state == Case.State.EXPLANATION and permissions.has_case_perm(
        user, "answer_clarification", case
    )
    for block in blocks:
        in_area = allowed is None or block.area.code in allowed
        for row in block.rows:
            if row.score is None:
                continue
            row.rounds = rounds.get(row.score.pk, [])
            row.may_ask = appraising and in_area and not row.criterion.is_survey
            row.may_appraise = row.may_ask and row.self_scored
            # During the explanation the unit adds evidence to the questioned criteria.
            row.may_add_evidence = may_answer and any(
                q.round == case.appraisal_round for q in row.questions
            )
    choices = [(b.area.code, b.area.title) for b in blocks]
    if area:
        blocks = [b for b in blocks if b.area.code == area]
    all_questions = [q for qs in questions.values() for q in qs]
    return AppraisalSheet(
        case=case,
        areas=blocks,
        totals=totals,
        transitions=services.available_transitions(case, user),
        deadlines=case_deadlines(case, now),
        may_answer=may_answer,
        unsent_questions=sum(
            1 for q in all_questions if q.status == Clarification.Status.OPEN and q.due_at is None
        ),
        open_questions=sum(1 for q in all_questions if q.status == Clarification.Status.OPEN),
        area_filter=area,
        area_choices=choices,
    )


def attach_upload_error(sheet: Sheet | AppraisalSheet, code: str, message: str) -> None:
    """Put a refused upload's reason under the file field of its criterion."""
    for block in sheet.areas:
        for row in block.rows:
            if row.criterion.code == code:
                row.upload_error = message


def attach_appraisal_posted(
    sheet: AppraisalSheet, code: str, posted: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    for block in sheet.areas:
        for row in block.rows:
            if row.criterion.code == code:
                row.posted, row.errors = posted, errors


# --- history -----------------------------------------------------------------------------


def history(case: Case) -> list[AuditEntry]:
    return services.history(case)


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


# --- evidence ------------------------------------------------------------------------------


def evidence_row(case: Case, code: str, user: Any, now: datetime) -> Row | None:
    """One criterion's evidence block after an upload: its versions and whether this user
    may add another now (the evidence service answers, as it will on the next upload)."""
    from evidence import services as evidence_services

    score = (
        Score.objects.filter(case=case, criterion__code=code, criterion__is_leaf=True)
        .select_related("criterion")
        .first()
    )
    if score is None:
        return None
    row = Row(criterion=score.criterion, score=score)
    row.evidence = case_evidence(case).get(score.criterion_id, [])
    try:
        evidence_services.check_may_add(case.pk, user, now=now)
    except DomainError:
        return row
    row.may_add_evidence = not score.criterion.is_survey and (
        case.state == Case.State.SELF_SCORING
        or Clarification.objects.filter(
            case=case, criterion=score.criterion, round=case.appraisal_round
        ).exists()
    )
    return row


# --- results -------------------------------------------------------------------------------


@dataclass
class GroupView:
    """One unit group's results as the page shows them: the table and its chart."""

    group: Any
    chart: charts.BarChart
    area_codes: list[str]

    def area_index(self, row: Any, code: str) -> Decimal | None:
        for area in row.areas:
            if area.code == code:
                return area.index
        return None


def results_view(computed: Any) -> list[GroupView]:
    """Each group's ranking with a bar chart of indexes, coloured by classification, with
    the cycle's thresholds drawn as guide lines."""
    thresholds = [
        Decimal(str(band["min"]))
        for band in computed.cycle.group_thresholds
        if Decimal(str(band["min"])) > 0
    ]
    views = []
    for group in computed.groups:
        ranked = group.ranked
        chart = charts.bar_chart(
            [(f"{r.rank}. {r.unit_name}", r.index or Decimal(0)) for r in ranked],
            title=_("Index of each unit: %(group)s") % {"group": group.name},
            maximum=Decimal(100),
            classes=[f"group-{r.classification}" for r in ranked],
            marks=thresholds,
        )
        views.append(GroupView(group, chart, [a.code for a in group.areas]))
    return views


def unit_result(computed: Any, unit_code: str) -> tuple[Any, Any] | None:
    """(group, row) of one unit in the results, or None."""
    for group, row in computed.rows():
        if row.unit_code == unit_code:
            return group, row
    return None


def area_chart(row: Any) -> charts.BarChart:
    """A unit's index per area (0 – 100): where it did well and where it lost points."""
    return charts.bar_chart(
        [(f"{a.code}. {a.title}", a.index or Decimal(0)) for a in row.areas if a.applicable_max],
        title=_("Index per area: %(unit)s") % {"unit": row.unit_name},
        maximum=Decimal(100),
    )
