"""A case's pages: the score sheet, the appraisal side by side, the evidence.

The submit checklist runs the very guards the submit runs, so that the page and the
refusal can never disagree.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.functional import cached_property

from cases.compiled import Compiled
from cases.models import (
    NOT_SELF_SCORED,
    Appraisal,
    Case,
    Criterion,
    Framework,
    Method,
    Score,
    kept_while_frozen,
)
from cases.scoring import counts_working_days_late
from cases.totals import CaseTotals, totals_from_scores
from cases.users import User, display_name_from
from deadlines import policy
from deadlines.policy import LatePenalty
from evidence.models import Document, EvidenceLink
from evidence.services import know_backed
from web.pages.common import CaseDeadlines, Deadline, case_deadlines
from workflow import rules
from workflow.models import Clarification
from workflow.transitions import TRANSITIONS

# --- the score sheet ---------------------------------------------------------------------

KINDS: dict[str, str] = {
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
    return "a-" + criterion.area_code.replace(".", "-")


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

    @property
    def backs(self) -> bool:
        """Current and intact: evidence the submit guard accepts."""
        return self.intact and not self.withdrawn


def _evidence_read(_key: tuple[()], case: int) -> QuerySet[EvidenceLink, tuple[Any, ...]]:
    return (
        EvidenceLink.objects.filter(case_id=case)
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


_EVIDENCE: Compiled[Any] = Compiled(_evidence_read)


def case_evidence(case: Case) -> dict[int, list[EvidenceItem]]:
    """Every version of every criterion's evidence, newest first, in one light query."""
    found: dict[int, list[EvidenceItem]] = defaultdict(list)
    rows = _EVIDENCE.rows((), case.pk)
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
                display_name_from(first, last, username),
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
    may_withdraw: bool = False  # withdraw a version, link its file elsewhere (self-scoring)
    upload_error: str = ""
    late_penalty: LatePenalty | None = None  # the dates' proposal, for a penalty per day late
    never_sent: bool = False  # such a penalty on a case locked and never sent: no proposal

    @property
    def rests_on_text(self) -> bool:
        """A criterion requiring evidence backed by the unit's written explanation alone: no
        current, intact document (the appraiser weighs it knowing that)."""
        s = self.score
        return (
            s is not None
            and self.criterion.evidence_required
            and not s.not_applicable
            and bool(s.evidence_explanation)
            and not any(item.backs for item in self.evidence)
        )

    @property
    def differs(self) -> bool:
        s = self.score
        return (
            s is not None
            and s.appraised_score is not None
            and s.self_score is not None
            and s.appraised_score != s.self_score
        ) or (s is not None and s.not_applicable_decision == "rejected")

    @property
    def na_claimed(self) -> bool:
        """The unit declared the leaf not applicable (the appraiser confirms or rejects it)."""
        s = self.score
        return s is not None and (s.not_applicable or bool(s.not_applicable_decision))

    @property
    def na_choice(self) -> str:
        """The appraiser's choice on that claim as the form shows it: typed, or decided."""
        if self.posted is not None:
            return str(self.posted.get("na_decision", ""))
        decision = self.score.not_applicable_decision if self.score is not None else ""
        return {"confirmed": "confirm", "rejected": "reject"}.get(decision, "")

    # Asked several times for each row a page draws: worked out once (Django's
    # cached_property: the standard library's takes a lock on every first read).
    @cached_property
    def kind(self) -> str:
        return entry_kind(self.criterion)

    @cached_property
    def anchor(self) -> str:
        return anchor(self.criterion.code)

    @cached_property
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
    appraised: int = 0
    self_points: Decimal = Decimal(0)
    appraised_points: Decimal = Decimal(0)
    index: Decimal | None = None

    @property
    def anchor(self) -> str:
        return "a-" + self.area.code.replace(".", "-")

    @property
    def may_appraise(self) -> bool:
        """The viewer may appraise some leaf of this area now (and so agree with it whole)."""
        return any(row.may_appraise for row in self.rows)

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
    def checklist(self) -> Checklist:
        leaves = {
            row.criterion.code: row.criterion
            for block in self.areas
            for row in block.rows
            if row.score is not None
        }
        return checklist(self.missing, leaves)

    @property
    def deadline(self) -> Deadline:
        return self.deadlines.self_assessment

    @property
    def scored(self) -> int:
        return sum(b.scored for b in self.areas)

    @property
    def to_score(self) -> int:
        return sum(b.total for b in self.areas)

    @property
    def appraised(self) -> int:
        """Leaves the council has appraised, of the same `to_score` leaves the sheet counts
        (survey, bonus and penalty leaves are not the council's to appraise one by one)."""
        return sum(b.appraised for b in self.areas)

    @property
    def index_final(self) -> bool:
        return self.totals.index_final


# The three reads of every sheet, compiled once (`cases.compiled`).
_FRAMEWORK: Compiled[Framework] = Compiled(
    lambda _key, cycle, group: Framework.objects.filter(
        cycle_id=cycle, unit_group_id=group
    ).order_by("pk")[:1]
)
_CRITERIA: Compiled[Criterion] = Compiled(
    lambda _key, framework: Criterion.objects.filter(framework_id=framework)
)
_SCORES: Compiled[Score] = Compiled(lambda _key, case: Score.objects.filter(case_id=case))


def _criteria_tree(case: Case) -> dict[int | None, Criterion]:
    """The criteria of the case's set by id, each linked to its set, area and parent, so that
    the hundred leaves of a sheet share their headings instead of each row building its own
    copies through joins. Read once per process once the set is frozen (`cases.models`)."""
    return kept_while_frozen(case, "criteria tree", lambda: _read_tree(case))


def _read_tree(case: Case) -> dict[int | None, Criterion]:
    frameworks = _FRAMEWORK((), case.cycle_id, case.unit.group_id)
    framework = frameworks[0] if frameworks else None
    criteria: dict[int | None, Criterion] = (
        {c.pk: c for c in _CRITERIA((), framework.pk)} if framework is not None else {}
    )
    # The related-object caches are filled the way prefetch_related fills them (the ids
    # are already right), skipping the checks of assignment a few hundred times a page.
    to_framework, to_area, to_parent = (
        Criterion.framework.field,
        Criterion.area.field,
        Criterion.parent.field,
    )
    for criterion in criteria.values():
        to_framework.set_cached_value(criterion, framework)
        to_area.set_cached_value(criterion, criteria.get(criterion.area_id))
        to_parent.set_cached_value(criterion, criteria.get(criterion.parent_id))
    return criteria


def case_scores(case: Case) -> list[Score]:
    """The case's score rows, each with its criterion, the criterion's area, parent and
    framework, in criteria order: what `Case.score_rows()` loads, in one light query once
    the process keeps the set's tree (three before)."""
    criteria = _criteria_tree(case)
    to_case, to_criterion = Score.case.field, Score.criterion.field
    scores = _SCORES((), case.pk)
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
    # loaded with their leaves carry them, no query of their own. (Each leaf's criterion is
    # read once: with its links, these reads were most of the work.)
    evidence = evidence or {}
    headings: dict[int, Row] = {}
    leaves: list[Row] = []
    for score in scores:
        criterion = score.criterion
        for node in (criterion.parent, criterion.area):
            if node is not None and node.id not in headings:
                headings[node.id] = Row(node)
        pk = criterion.id
        leaves.append(Row(criterion, score, questions.get(pk, []), evidence.get(pk, [])))
    rows = [*headings.values(), *leaves]
    rows.sort(key=lambda r: r.criterion.position)
    blocks: dict[int, AreaBlock] = {}
    area_totals = {a.code: a for a in totals.areas.values()}
    for row in rows:
        criterion = row.criterion
        if criterion.parent_id is None:
            block = blocks[criterion.id] = AreaBlock(area=criterion, rows=[])
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
            block.appraised += row.score.appraised_round is not None
    return list(blocks.values())


EXTENDABLE = {
    Case.State.SELF_SCORING: "self_assessment",
    Case.State.SUBMITTED: "self_assessment",
    Case.State.EXPLANATION: "explanation",
}
"""Which deadline an extension moves in each state where `rules.extend` allows one."""


def may_extend(user: User, case: Case, facts: rules.Facts | None = None) -> bool:
    """The secretariat may grant this case a later deadline in its current state."""
    return rules.allowed(rules.extend, facts or rules.facts_for(user, case))


@dataclass
class ChecklistItem:
    """What one criterion still lacks, every reason once, with a link to its row."""

    criterion: Criterion
    reasons: list[str]

    @property
    def anchor(self) -> str:
        return anchor(self.criterion.code)


@dataclass
class Checklist:
    general: list[str]
    criteria: list[ChecklistItem]

    def __len__(self) -> int:
        return len(self.general) + len(self.criteria)


_CODE = re.compile(r"\d+(?:\.\d+)*")


def checklist(reasons: list[str], leaves: dict[str, Criterion]) -> Checklist:
    """The submit guards' reasons by criterion: each guard names its criterion by code in
    its message, so a reason belongs to the first leaf code it names."""
    general: list[str] = []
    items: dict[str, ChecklistItem] = {}
    for reason in reasons:
        code = next((c for c in _CODE.findall(reason) if c in leaves), None)
        if code is None:
            if reason not in general:
                general.append(reason)
            continue
        item = items.setdefault(code, ChecklistItem(leaves[code], []))
        if reason not in item.reasons:
            item.reasons.append(reason)
    ordered = sorted(items.values(), key=lambda item: item.criterion.position)
    return Checklist(general, ordered)


def submit_checklist(case: Case, now: datetime) -> list[str]:
    """What still stops the submission: the submit transition's own guards, run dry."""
    params: dict[str, Any] = {"comment": ""}
    return [reason for guard in TRANSITIONS["submit"].guards for reason in guard(case, now, params)]


def score_sheet(case: Case, user: User, now: datetime) -> Sheet:
    scores = case_scores(case)
    case.__dict__["_score_rows"] = scores  # the guards read the rows loaded here
    questions = case_questions(case)
    # The totals read the rows as plain values, as the guards do: made once for both.
    totals = totals_from_scores(case, case.snapshot_rows())
    deadlines = case_deadlines(case, now)
    # The submit guards ask for the same date: read with the case, as the submit reads it.
    case.__dict__.setdefault(policy.SELF_DUE, deadlines.self_assessment.due)
    facts = rules.facts_for(user, case, now, self_due=deadlines.self_assessment.due)
    transitions = rules.transitions_allowed(facts)
    can_edit = rules.allowed(rules.edit_self_score, facts)
    evidence = case_evidence(case)
    # ... and the evidence read here: every version, the current ones among them.
    know_backed(case, {c for c, items in evidence.items() if any(i.backs for i in items)})
    missing = submit_checklist(case, now) if "submit" in transitions else []
    blocks = _blocks(case, scores, questions, totals, evidence)
    for block in blocks:
        for row in block.rows:
            row.may_add_evidence = (
                can_edit and row.score is not None and not row.criterion.is_survey
            )
            row.may_withdraw = row.may_add_evidence
    return Sheet(
        case=case,
        areas=blocks,
        totals=totals,
        deadlines=deadlines,
        can_edit=can_edit,
        may_extend=may_extend(user, case, facts),
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
    return Criterion.objects.leaves_of(case).filter(code=code).select_related("area").first()


@dataclass(frozen=True)
class SaveProgress:
    """Self-scorable leaves scored, of one area and of the whole case, after an autosave."""

    area_scored: int
    area_total: int
    case_scored: int
    case_total: int


def area_progress(case: Case, area_id: int | None) -> SaveProgress:
    """The area's and the case's progress in one aggregate query (counted as the sheet and
    `self_progress` count: a leaf is done when scored or declared not applicable)."""
    done = Q(self_score__isnull=False) | Q(not_applicable=True)
    in_area = Q(criterion__area_id=area_id)
    counts = (
        Score.objects.filter(case=case)
        .exclude(criterion__method__in=NOT_SELF_SCORED)
        .aggregate(
            area_total=Count("pk", filter=in_area),
            area_scored=Count("pk", filter=in_area & done),
            case_total=Count("pk"),
            case_scored=Count("pk", filter=done),
        )
    )
    return SaveProgress(**counts)


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
    appraised: int = 0  # of the whole case, whatever area is shown
    to_score: int = 0

    @property
    def index_final(self) -> bool:
        return self.totals.index_final


def appraisal_sheet(case: Case, user: User, now: datetime, area: str = "") -> AppraisalSheet:
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
    facts = rules.facts_for(user, case, now)
    may_ask = rules.allowed(rules.ask, facts)
    may_answer = rules.allowed(rules.answer, facts)
    for block in blocks:
        for row in block.rows:
            if row.score is None:
                continue
            row.rounds = rounds.get(row.score.pk, [])
            code, area_code = row.criterion.code, block.area.code
            row.may_ask = may_ask and not rules.ask_criterion(
                facts, code=code, area=area_code, survey=row.criterion.is_survey
            )
            row.late_penalty = policy.late_penalty(case, row.criterion)
            row.never_sent = row.late_penalty is None and counts_working_days_late(row.criterion)
            # Bonus and penalty leaves are appraised too, though a case is complete without.
            row.may_appraise = not rules.appraise_criterion(
                facts,
                code=code,
                area=area_code,
                survey=row.criterion.is_survey,
                open_question=any(q.status == Clarification.Status.OPEN for q in row.questions),
            )
            # During the explanation the unit adds evidence to the questioned criteria.
            row.may_add_evidence = may_answer and any(
                q.round == case.appraisal_round for q in row.questions
            )
    choices = [(b.area.code, b.area.title) for b in blocks]
    appraised, to_score = sum(b.appraised for b in blocks), sum(b.total for b in blocks)
    if area:
        blocks = [b for b in blocks if b.area.code == area]
    all_questions = [q for qs in questions.values() for q in qs]
    return AppraisalSheet(
        case=case,
        areas=blocks,
        totals=totals,
        transitions=rules.transitions_allowed(facts),
        deadlines=case_deadlines(case, now),
        may_answer=may_answer,
        unsent_questions=sum(
            1 for q in all_questions if q.status == Clarification.Status.OPEN and q.due_at is None
        ),
        open_questions=sum(1 for q in all_questions if q.status == Clarification.Status.OPEN),
        area_filter=area,
        area_choices=choices,
        appraised=appraised,
        to_score=to_score,
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


def shows_question_field(sheet: AppraisalSheet, code: str) -> bool:
    """Whether the row of `code` draws the question field that would show a refusal; when it
    does not (a survey criterion, another's area), the page states the refusal at its top."""
    return any(
        row.may_ask for block in sheet.areas for row in block.rows if row.criterion.code == code
    )


# --- evidence ------------------------------------------------------------------------------


def evidence_row(case: Case, code: str, user: User, now: datetime) -> Row | None:
    """One criterion's evidence block after an upload: its versions and whether this user
    may add another now (`workflow.rules` answers, as it will to the next upload)."""
    score = (
        Score.objects.filter(case=case, criterion__code=code, criterion__is_leaf=True)
        .select_related("criterion")
        .first()
    )
    if score is None:
        return None
    row = Row(criterion=score.criterion, score=score)
    row.evidence = case_evidence(case).get(score.criterion_id, [])
    facts = rules.facts_for(
        user, case, now, codes=("edit_self_score", "answer_clarification"), with_deadline=True
    )
    if rules.add_evidence(facts):
        return row
    row.may_add_evidence = not score.criterion.is_survey and (
        case.state == Case.State.SELF_SCORING
        or Clarification.objects.filter(
            case=case, criterion=score.criterion, round=case.appraisal_round
        ).exists()
    )
    row.may_withdraw = row.may_add_evidence and rules.allowed(rules.withdraw_evidence, facts)
    return row


@dataclass(frozen=True)
class RelinkChoice:
    code: str
    title: str
    linked: bool  # the document is already current evidence of this criterion


def relink_choices(case: Case, document_id: int) -> list[RelinkChoice]:
    """The criteria a document of the case could also be evidence for (the case's scored
    criteria that take evidence), each saying whether the document is there already."""
    linked = set(
        EvidenceLink.objects.filter(document_id=document_id, withdrawn_at__isnull=True).values_list(
            "criterion_id", flat=True
        )
    )
    criteria = (
        Criterion.objects.leaves_of(case)
        .exclude(method=Method.SURVEY)
        .order_by("position")
        .values_list("pk", "code", "title")
    )
    return [RelinkChoice(code, title, pk in linked) for pk, code, title in criteria]
