"""The assessment domain: units, cycles, criteria frameworks, cases and scores.

Invariants:
- One case per (cycle, unit); its `state` changes only through the workflow's transition
  service (the field is protected; the transition methods here change fields only).
- One score row per (case, leaf criterion); totals and area indexes are derived from them
  (`cases.totals`), never stored twice.
- Criteria are data, versioned per cycle and unit group: a framework belongs to one cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from django.conf import settings
from django.db import connections, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from guardian.models import UserObjectPermissionBase

from cases.compiled import Compiled

T = TypeVar("T")

# Every points field: up to 99 999,99.
POINT_DIGITS = 7
POINT_PLACES = 2


def default_thresholds() -> list[dict[str, Any]]:
    """The usual bands (docs/domain.md): A ≥ 90, B 70–<90, C 50–<70, D < 50."""
    return [
        {"group": "A", "min": 90},
        {"group": "B", "min": 70},
        {"group": "C", "min": 50},
        {"group": "D", "min": 0},
    ]


def default_reward_rule() -> dict[str, Any]:
    """Proposed for emulation and rewards: units of group A and the first three of each
    unit group (`results.documents.reward_reasons` reads it)."""
    return {"groups": ["A"], "top": 3}


def default_reminder_offsets() -> list[int]:
    """Days before a deadline when the unit is reminded: T-7, T-3, T-1 and the day itself."""
    return [7, 3, 1, 0]


class UnitGroup(models.Model):
    """A block of units ranked together (khối sở, khối xã …)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("unit group")
        verbose_name_plural = _("unit groups")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Unit(models.Model):
    """An administrative unit assessed each year (a department, a commune …)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=255)
    group = models.ForeignKey(
        UnitGroup, on_delete=models.PROTECT, related_name="units", verbose_name=_("group")
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent unit"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["group__code", "code"]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"


class Membership(models.Model):
    """A user's scoped role in a unit; the source of the unit's object permissions."""

    class Role(models.TextChoices):
        STAFF = "staff", _("Unit staff")
        HEAD = "head", _("Unit head")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "role"], name="uniq_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.unit.code} ({self.get_role_display()})"


class Cycle(models.Model):
    """One year's assessment run by an authority, with its deadlines and weights."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        RESULTS_SUBMITTED = "results_submitted", _("Results awaiting approval")
        PUBLISHED = "published", _("Published")

    year = models.PositiveIntegerField(_("year"))  # the year assessed
    run_year = models.PositiveIntegerField(_("year it runs"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=255)
    authority = models.CharField(_("authority"), max_length=255)
    # The legal basis: the assessment plan and the decision the cycle is run under.
    plan_number = models.CharField(_("plan number"), max_length=64, blank=True)
    plan_date = models.DateField(_("plan date"), null=True, blank=True)
    basis_decision_number = models.CharField(
        _("number of the decision it is run under"), max_length=64, blank=True
    )
    basis_decision_date = models.DateField(
        _("date of the decision it is run under"), null=True, blank=True
    )
    status = models.CharField(
        _("status"), max_length=32, choices=Status.choices, default=Status.DRAFT
    )
    self_assessment_due = models.DateField(_("self-assessment due"))
    survey_due = models.DateField(_("survey answers due"), null=True, blank=True)
    appraisal_due = models.DateField(_("appraisal due"))
    publication_target = models.DateField(_("publication target"), null=True, blank=True)
    explanation_window_days = models.PositiveSmallIntegerField(
        _("explanation window (working days)"), default=5
    )
    self_weight = models.DecimalField(
        _("weight of the self-assessed part"),
        default=70,
        max_digits=POINT_DIGITS,
        decimal_places=POINT_PLACES,
    )
    survey_weight = models.DecimalField(
        _("weight of the survey part"),
        default=30,
        max_digits=POINT_DIGITS,
        decimal_places=POINT_PLACES,
    )
    group_thresholds = models.JSONField(_("group thresholds"), default=default_thresholds)

    class GroupBasis(models.TextChoices):
        TOTAL = "total", _("total points (of 100)")
        INDEX = "index", _("index rescaled for criteria not applicable")

    group_basis = models.CharField(
        _("groups read against"),
        max_length=16,
        choices=GroupBasis.choices,
        default=GroupBasis.TOTAL,
    )
    signed_report_required = models.BooleanField(
        _("the head attaches the signed self-assessment report (PDF) before submitting"),
        default=False,
    )
    explanation_may_replace_evidence = models.BooleanField(
        _("a written explanation may stand in for a document on a criterion requiring evidence"),
        default=True,
    )
    reward_rule = models.JSONField(
        _("reward rule"),
        default=default_reward_rule,
        blank=True,
        help_text=_(
            'Units proposed for emulation and rewards: {"groups": ["A"], "top": 3} proposes '
            "the units of group A and the first three of each unit group."
        ),
    )
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    # Deadline settings read by the deadlines app's sweep (see deadlines/sweep.py).
    reminder_offsets = models.JSONField(
        _("reminder days before a deadline"), default=default_reminder_offsets, blank=True
    )
    overdue_reminder = models.BooleanField(_("remind once overdue"), default=True)
    auto_start_appraisal = models.BooleanField(
        _("start appraisal of submitted cases when appraisal opens"), default=False
    )
    # The leader's approval decision (quyết định phê duyệt), set when the results are published.
    decision_number = models.CharField(_("decision number"), max_length=64, blank=True)
    decision_date = models.DateField(_("decision date"), null=True, blank=True)
    decision_signer = models.CharField(_("decision signed by"), max_length=255, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        verbose_name = _("cycle")
        verbose_name_plural = _("cycles")
        ordering = ["-year", "title"]

    def __str__(self) -> str:
        return self.title


class Framework(models.Model):
    """A criteria set (bộ tiêu chí) of one unit group, in one version.

    A set is data the secretariat owns: issued by a decision, copied from last year's as a
    new version (`derived_from`), and bound to the one cycle whose cases are scored against
    it. An unbound set (`cycle` empty) is still being prepared; a set bound to a cycle that
    is no longer a draft is frozen, and changing it means a new version.
    """

    cycle = models.ForeignKey(
        Cycle, on_delete=models.CASCADE, related_name="frameworks", null=True, blank=True
    )
    unit_group = models.ForeignKey(UnitGroup, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(_("code"), max_length=64)
    title = models.CharField(_("title"), max_length=255)
    version = models.PositiveIntegerField(_("version"), default=1)
    derived_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="derivatives",
        verbose_name=_("copied from"),
    )
    decision_number = models.CharField(_("decision number"), max_length=64, blank=True)
    decision_date = models.DateField(_("decision date"), null=True, blank=True)
    decision_signer = models.CharField(_("decision signed by"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    bonus_cap = models.DecimalField(
        _("bonus cap"), default=0, max_digits=POINT_DIGITS, decimal_places=POINT_PLACES
    )
    penalty_cap = models.DecimalField(
        _("penalty cap"), default=0, max_digits=POINT_DIGITS, decimal_places=POINT_PLACES
    )

    class Meta:
        verbose_name = _("criteria framework")
        verbose_name_plural = _("criteria frameworks")
        constraints = [
            models.UniqueConstraint(fields=["cycle", "unit_group"], name="uniq_framework")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def frozen_by(self) -> Cycle | None:
        """The cycle whose cases are scored against this set, once it left its draft."""
        cycle = self.cycle
        if cycle is not None and cycle.status != Cycle.Status.DRAFT:
            return cycle
        return None


class Method(models.TextChoices):
    MANUAL = "manual", _("Manual points")
    YES_NO = "yes_no", _("Yes/no")
    GRADED = "graded", _("Graded levels")
    PERCENTAGE = "percentage_threshold", _("Percentage thresholds")
    DEDUCTION = "deduction", _("Deduction per violation")
    SURVEY = "survey", _("Survey")
    BONUS = "bonus", _("Bonus points")
    PENALTY = "penalty", _("Penalty points")


# Named sets of methods (tuples: their order is the choices' order, stable in SQL).
BONUS_PENALTY = (Method.BONUS, Method.PENALTY)
"""Extra points outside the two parts, capped per framework; optional for the unit."""
NOT_SELF_SCORED = (Method.SURVEY, *BONUS_PENALTY)
"""Leaves a case is complete without: the survey is imported, bonus and penalty optional."""
SELF_SCORED = tuple(m for m in Method if m not in NOT_SELF_SCORED)
"""Leaves the unit must score before it submits and the council must appraise."""


def tree_of(case: Case, via: str = "") -> models.Q:
    """The criteria tree of a case (its cycle's framework for its unit's group) as lookups on
    Criterion, or `via` a relation to it ("criterion__") on a model that points to one."""
    return models.Q(
        **{
            f"{via}framework__cycle_id": case.cycle_id,
            f"{via}framework__unit_group_id": case.unit.group_id,
        }
    )


class CriterionQuerySet(models.QuerySet["Criterion"]):
    def of_case(self, case: Case) -> CriterionQuerySet:
        """The criteria tree of a case: its cycle's framework for its unit's group."""
        return self.filter(tree_of(case))

    def leaves_of(self, case: Case) -> CriterionQuerySet:
        """The scored criteria of a case."""
        return self.of_case(case).filter(is_leaf=True)


class Criterion(models.Model):
    """A node of the criteria tree: an area, a criterion or a sub-criterion.

    Leaves carry the scoring method and its configuration; parents sum their children.
    `config` holds the method's parameters: `thresholds` [{min, points}], `levels`
    [{label, points}], `per_violation`, `points_each`.
    """

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="criteria")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    area = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    code = models.CharField(_("code"), max_length=32)
    title = models.CharField(_("title"), max_length=500)
    position = models.PositiveIntegerField(_("position"), default=0)
    depth = models.PositiveSmallIntegerField(default=0)
    max_points = models.DecimalField(
        _("max points"), default=0, max_digits=POINT_DIGITS, decimal_places=POINT_PLACES
    )
    method = models.CharField(
        _("scoring method"), max_length=32, choices=Method.choices, blank=True
    )
    config = models.JSONField(_("method settings"), default=dict, blank=True)
    evidence_required = models.BooleanField(_("evidence required"), default=False)
    not_applicable_allowed = models.BooleanField(_("may be not applicable"), default=False)
    guidance = models.TextField(_("guidance for units"), blank=True)
    data_source = models.CharField(_("data source"), max_length=500, blank=True)
    is_leaf = models.BooleanField(default=False)

    objects = CriterionQuerySet.as_manager()

    class Meta:
        verbose_name = _("criterion")
        verbose_name_plural = _("criteria")
        ordering = ["framework", "position"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "code"], name="uniq_criterion_code")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def area_code(self) -> str:
        """The code of the area the node belongs to (an area is its own)."""
        return self.area.code if self.area is not None else self.code

    @property
    def is_survey(self) -> bool:
        return self.method == Method.SURVEY


def _may(codename: str) -> Callable[[models.Model, Any], bool]:
    """django-fsm's `permission=` hook, answered by the one permission module."""

    def check(instance: models.Model, user: Any) -> bool:
        from cases import permissions

        assert isinstance(instance, Case)
        return permissions.has_case_perm(user, codename, instance)

    return check


class Case(ConcurrentTransitionMixin, models.Model):
    """One unit's assessment in one cycle, moving through the workflow's states."""

    class State(models.TextChoices):
        SELF_SCORING = "self_scoring", _("Self-scoring")
        SUBMITTED = "submitted", _("Submitted")
        APPRAISING = "appraising", _("Appraising")
        EXPLANATION = "explanation", _("Explanation requested")
        FINALISED = "finalised", _("Finalised")
        PUBLISHED = "published", _("Published")

    S = State
    # No index of its own: `uniq_case` and the (cycle, state) index begin with it, and every
    # state change (a non-HOT update) writes one entry in each index of the row.
    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="cases", db_index=False)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="cases")
    state = FSMField(_("state"), default=State.SELF_SCORING, choices=State.choices, protected=True)
    is_late = models.BooleanField(_("late / not submitted in time"), default=False)
    appraisal_round = models.PositiveSmallIntegerField(_("appraisal round"), default=1)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    finalised_at = models.DateTimeField(_("finalised at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["cycle", "unit__code"]
        constraints = [models.UniqueConstraint(fields=["cycle", "unit"], name="uniq_case")]
        indexes = [models.Index(fields=["cycle", "state"])]
        default_permissions = ("view",)
        permissions = [
            ("edit_self_score", _("Can enter self scores")),
            ("appraise_case", _("Can appraise criteria")),
            ("ask_clarification", _("Can ask clarification questions")),
            ("answer_clarification", _("Can draft answers to clarification questions")),
            ("submit_case", _("Can submit the self-assessment")),
            ("recall_case", _("Can recall the self-assessment")),
            ("lock_case", _("Can lock a case at the cutoff")),
            ("start_appraisal", _("Can start appraisal")),
            ("request_explanation", _("Can request an explanation")),
            ("submit_explanation", _("Can send the explanation")),
            ("expire_explanation", _("Can expire an explanation window")),
            ("finalise_case", _("Can finalise a case")),
            ("reopen_case", _("Can reopen a case")),
            ("publish_case", _("Can publish results")),
            ("view_audit", _("Can read the audit trail")),
        ]

    def __str__(self) -> str:
        return f"{self.cycle.year} – {self.unit.code}"

    @staticmethod
    def state_text(state: str, is_late: bool) -> str:
        """The state as people read it: a case the deadline locked sits in `submitted` with
        `is_late`, but its unit never sent it, so "Submitted" would say the opposite."""
        if state == Case.State.SUBMITTED and is_late:
            return str(pgettext_lazy("case state", "Not sent"))
        return str(Case.State(state).label)

    @property
    def state_display(self) -> str:
        return Case.state_text(self.state, self.is_late)

    def score_rows(self) -> list[Score]:
        """The score rows with their criteria, loaded once per instance: a transition's guards
        and its snapshot share one query."""
        if "_score_rows" not in self.__dict__:
            self.__dict__["_score_rows"] = _read_score_rows(self)
        return self.__dict__["_score_rows"]

    def snapshot_rows(self) -> list[ScoreRow]:
        """The score rows as plain values, as a transition's guards and its snapshot read
        them, once per instance: those a batch read for many cases (`load_snapshot_rows`),
        else read alone when the process holds the criteria of the case's frozen set (no
        model rows built: they and their times were a tenth of a submit's CPU), else those
        `score_rows()` loads (a page that read them sets those)."""
        rows: list[ScoreRow] | None = self.__dict__.get("_snapshot_rows")
        if rows is None:
            if "_score_rows" not in self.__dict__:
                rows = _read_rows_of_frozen_set(self)
            if rows is None:
                rows = [
                    ScoreRow(score.criterion, *(getattr(score, c) for c in SCORE_ROW_COLUMNS))
                    for score in self.score_rows()
                ]
            self.__dict__["_snapshot_rows"] = rows
        return rows

    @staticmethod
    def load_snapshot_rows(cases: Sequence[Case]) -> None:
        """`snapshot_rows()` of many cases in two queries at most (the sweep snapshots a batch
        of cases): the rows as plain values, and the criteria once per set instead of once per
        row; none when the process holds them already (`_FROZEN_CRITERIA`), and kept then for
        the next batch. A batch reads tens of thousands of rows: as model instances, building
        them cost more than the rest of the snapshots together (bench/sweep.py)."""
        todo = [
            case
            for case in cases
            if "_snapshot_rows" not in case.__dict__ and "_score_rows" not in case.__dict__
        ]
        if not todo:
            return
        # Unordered: the rows are put in their criteria's order here, which a sort in the
        # query only doubled (half its time on PostgreSQL for a batch of 500 cases).
        query = (
            Score.objects.filter(case__any={case.pk for case in todo})
            .order_by()
            .values_list("case_id", "criterion_id", *SCORE_ROW_COLUMNS)
        )
        # On PostgreSQL, the rows as the driver reads them (its types need no converting), in
        # one fetch rather than through the ORM's iterator, a hundred rows at a time. SQLite's
        # driver hands decimals over as floats: there the ORM converts them.
        connection = connections[query.db]
        values: list[tuple[Any, ...]]
        if connection.vendor == "postgresql":
            sql, params = query.query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                values = cursor.fetchall()
        else:
            values = list(query)
        keys = {case.pk: _frozen_key(case) for case in todo}
        criteria: dict[int, Criterion] = {}
        for key in set(keys.values()):
            criteria.update(_FROZEN_CRITERIA.get(key, {}) if key is not None else {})
        missing = {row[1] for row in values} - criteria.keys()
        if missing:
            # The sets the process does not hold yet, kept as `_read_score_rows` keeps them.
            kept: dict[tuple[int, int], dict[int, Criterion]] = {
                key: {} for key in keys.values() if key is not None and key not in _FROZEN_CRITERIA
            }
            for criterion in Criterion.objects.select_related("area", "framework").filter(
                pk__any=missing
            ):
                criteria[criterion.pk] = criterion
                framework = criterion.framework
                if framework.cycle_id is not None:
                    found = kept.get((framework.cycle_id, framework.unit_group_id))
                    if found is not None:
                        found[criterion.pk] = criterion
            for key, found in kept.items():
                if found:
                    _keep(_FROZEN_CRITERIA, key, found)
        # Each case's rows in the order of their criteria (position, then id), by a whole
        # number per criterion: no tuple to build and compare for each of tens of thousands.
        order = {pk: (criterion.position, pk) for pk, criterion in criteria.items()}
        rank = {pk: n for n, pk in enumerate(sorted(order, key=order.__getitem__))}
        by_case: dict[int, list[tuple[Any, ...]]] = {case.pk: [] for case in todo}
        for row in values:
            by_case[row[0]].append(row)
        new = tuple.__new__  # ScoreRow._make without its call (the columns are its fields)
        for case in todo:
            of_case = by_case[case.pk]
            of_case.sort(key=lambda row: rank[row[1]])
            case.__dict__["_snapshot_rows"] = [
                new(ScoreRow, (criteria[row[1]], *row[2:])) for row in of_case
            ]

    # The transitions change fields only; the workflow's service checks guards, audits and
    # queues side effects around them.
    @transition(state, source=S.SELF_SCORING, target=S.SUBMITTED, permission=_may("submit_case"))
    def submit(self) -> None:
        # A head submits only before the (possibly extended) deadline: in time, whatever an
        # earlier lock at the cutoff said.
        self.is_late = False

    @transition(state, source=S.SUBMITTED, target=S.SELF_SCORING, permission=_may("recall_case"))
    def recall(self) -> None:
        self.submitted_at = None

    @transition(state, source=S.SELF_SCORING, target=S.SUBMITTED, permission=_may("lock_case"))
    def lock_at_cutoff(self) -> None:
        self.is_late = True

    @transition(state, source=S.SUBMITTED, target=S.APPRAISING, permission=_may("start_appraisal"))
    def start_appraisal(self) -> None:
        pass

    @transition(
        state, source=S.APPRAISING, target=S.EXPLANATION, permission=_may("request_explanation")
    )
    def request_explanation(self) -> None:
        pass

    @transition(
        state, source=S.EXPLANATION, target=S.APPRAISING, permission=_may("submit_explanation")
    )
    def submit_explanation(self) -> None:
        self.appraisal_round += 1

    @transition(
        state, source=S.EXPLANATION, target=S.APPRAISING, permission=_may("expire_explanation")
    )
    def expire_explanation(self) -> None:
        self.appraisal_round += 1

    @transition(state, source=S.APPRAISING, target=S.FINALISED, permission=_may("finalise_case"))
    def finalise(self) -> None:
        pass

    @transition(state, source=S.FINALISED, target=S.APPRAISING, permission=_may("reopen_case"))
    def reopen(self) -> None:
        self.finalised_at = None

    @transition(state, source=S.FINALISED, target=S.PUBLISHED, permission=_may("publish_case"))
    def publish(self) -> None:
        pass


class ScoreQuerySet(models.QuerySet["Score"]):
    def survey_of(self, cycle: Cycle | int) -> ScoreQuerySet:
        """The survey leaves of every case of a cycle (filled by the survey import)."""
        return self.filter(case__cycle=cycle, criterion__method=Method.SURVEY)

    def of_leaf(self, case: Case, code: str) -> ScoreQuerySet:
        """The case's score row of its leaf `code` (none if `code` is no leaf of its tree),
        the criterion joined rather than asked in a subquery: a score save locks it in one
        statement."""
        return self.filter(
            tree_of(case, "criterion__"), case=case, criterion__code=code, criterion__is_leaf=True
        )

    def survey_missing(self) -> ScoreQuerySet:
        """Survey leaves that count and have no imported score yet."""
        return self.filter(
            criterion__method=Method.SURVEY, not_applicable=False, appraised_score__isnull=True
        )


class Score(models.Model):
    """The self score and the appraised score of one leaf criterion of one case.

    `value` is the figure the unit declared where the method computes the points from one
    (a rate, a number of violations, a level); `version` detects concurrent edits.
    A unit's "not applicable" is a claim until the appraiser decides on it:
    `not_applicable_decision` records that decision; after a rejection the leaf counts again
    (`not_applicable` is off) and `not_applicable_reason` keeps the unit's own words.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="scores")
    value = models.DecimalField(
        _("declared figure"), null=True, blank=True, max_digits=12, decimal_places=2
    )
    self_score = models.DecimalField(
        _("self score"), null=True, blank=True, max_digits=POINT_DIGITS, decimal_places=POINT_PLACES
    )
    note = models.TextField(_("note"), blank=True)
    evidence_explanation = models.TextField(_("how the score was reached"), blank=True)
    not_applicable = models.BooleanField(_("not applicable"), default=False)
    not_applicable_reason = models.TextField(_("reason not applicable"), blank=True)
    not_applicable_decision = models.CharField(
        _("appraiser's decision on not applicable"),
        max_length=12,
        blank=True,
        choices=[("confirmed", _("confirmed")), ("rejected", _("rejected"))],
    )
    appraised_score = models.DecimalField(
        _("appraised score"),
        null=True,
        blank=True,
        max_digits=POINT_DIGITS,
        decimal_places=POINT_PLACES,
    )
    appraised_comment = models.TextField(_("appraisal comment"), blank=True)
    appraised_round = models.PositiveSmallIntegerField(null=True, blank=True)
    appraised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    appraised_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScoreQuerySet.as_manager()

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        constraints = [
            models.UniqueConstraint(fields=["case", "criterion"], name="uniq_score"),
            models.CheckConstraint(
                condition=models.Q(self_score__isnull=True) | models.Q(self_score__gte=0),
                name="self_score_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(appraised_score__isnull=True) | models.Q(appraised_score__gte=0),
                name="appraised_score_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.criterion.code}"


class ScoreRow(NamedTuple):
    """A score row as a snapshot and the totals read it, as plain values (`Case.snapshot_rows`)."""

    criterion: Criterion
    value: Decimal | None
    self_score: Decimal | None
    note: str
    not_applicable: bool
    not_applicable_reason: str
    evidence_explanation: str
    appraised_score: Decimal | None
    appraised_comment: str
    appraised_round: int | None


# The columns of a ScoreRow after its criterion, as `values_list` names them.
SCORE_ROW_COLUMNS = ScoreRow._fields[1:]


# A case's score rows as `score_rows()` reads them, compiled once (`cases.compiled`): every
# submission's guards and snapshot read them, and building and compiling the three joins cost
# more CPU than PostgreSQL took to answer (bench/transitions.py).
_SCORE_ROWS: Compiled[Score] = Compiled(
    lambda _key, case: (
        Score.objects.filter(case_id=case)
        .select_related("criterion", "criterion__area", "criterion__framework")
        .order_by("criterion__position")
    )
)


# The same rows without their criteria, which the process already holds (`_FROZEN_CRITERIA`).
_SCORE_ROWS_ALONE: Compiled[Score] = Compiled(
    lambda _key, case: Score.objects.filter(case_id=case).order_by("criterion__position")
)

# The criteria of frozen sets (`Framework.frozen_by`), each with its area and its set, by
# (cycle, unit group): the set a case is scored against. A frozen set never changes (editing
# it is refused, the admin only shows it), so every request of the process shares them:
# building a criterion, its area and its set again for each score row took two thirds of
# reading a case's score rows (bench/transitions.py). The instances are only read; what
# other modules keep on them are values worked out from them. Some hundred sets at most.
_FROZEN_CRITERIA: dict[tuple[int, int], dict[int, Criterion]] = {}
_FROZEN_SETS_KEPT = 256
_CASE_CYCLE, _CASE_UNIT = Case.cycle.field, Case.unit.field
_SCORE_CRITERION = Score.criterion.field


def _frozen_key(case: Case) -> tuple[int, int] | None:
    """The key of the case's set in `_FROZEN_CRITERIA` if that set is frozen, as far as the
    case's own cycle and unit (if loaded) tell; None when they do not."""
    if not (_CASE_CYCLE.is_cached(case) and _CASE_UNIT.is_cached(case)):
        return None
    if case.cycle.status == Cycle.Status.DRAFT:
        return None
    return (case.cycle_id, case.unit.group_id)


# The same rows as plain values (`Case.snapshot_rows`).
_SNAPSHOT_ROWS: Compiled[Score] = Compiled(
    lambda _key, case: (
        Score.objects.filter(case_id=case)
        .order_by("criterion__position")
        .values_list("criterion_id", *SCORE_ROW_COLUMNS)
    )
)


def _read_rows_of_frozen_set(case: Case) -> list[ScoreRow] | None:
    """The case's rows as plain values with the criteria the process holds for its frozen
    set, in one query; None when it holds none (or not all of them)."""
    key = _frozen_key(case)
    known = _FROZEN_CRITERIA.get(key) if key is not None else None
    if known is None:
        return None
    values = _SNAPSHOT_ROWS.rows((), case.pk)
    if not all(row[0] in known for row in values):
        return None
    return [ScoreRow(known[row[0]], *row[1:]) for row in values]


def _read_score_rows(case: Case) -> list[Score]:
    """`Case.score_rows()`: the rows alone when the process holds their criteria, else with
    their criteria joined (one query either way), kept when their set is frozen."""
    key = _frozen_key(case)
    known = _FROZEN_CRITERIA.get(key) if key is not None else None
    if known is not None:
        rows = _SCORE_ROWS_ALONE((), case.pk)
        if all(row.criterion_id in known for row in rows):
            for row in rows:
                _SCORE_CRITERION.set_cached_value(row, known[row.criterion_id])
            return rows
    rows = _SCORE_ROWS((), case.pk)
    if key is not None:
        _keep(_FROZEN_CRITERIA, key, {row.criterion_id: row.criterion for row in rows})
    return rows


def _keep(kept: dict[Any, Any], key: Any, value: Any) -> None:
    """`kept[key] = value`, the whole cache dropped first once it holds `_FROZEN_SETS_KEPT`."""
    if len(kept) >= _FROZEN_SETS_KEPT:
        kept.clear()
    kept[key] = value


# What a page works out from a frozen set's criteria alone (the score sheet's linked tree),
# kept by the same key as the criteria above, and as they are, only read.
_FROZEN_WORKED_OUT: dict[tuple[str, int, int], Any] = {}


def kept_while_frozen(case: Case, name: str, work_out: Callable[[], T]) -> T:
    """`work_out()` for the case's criteria set, kept by the process once that set is frozen
    (as `_FROZEN_CRITERIA`); worked out anew while it may still change."""
    key = _frozen_key(case)
    if key is None:
        return work_out()
    kept = (name, *key)
    if kept not in _FROZEN_WORKED_OUT:
        _keep(_FROZEN_WORKED_OUT, kept, work_out())
    return _FROZEN_WORKED_OUT[kept]


def forget_frozen_criteria() -> None:
    """Drop the criteria the process keeps, and what was worked out from them (tests that
    rewrite a frozen set's rows)."""
    _FROZEN_CRITERIA.clear()
    _FROZEN_WORKED_OUT.clear()


class Appraisal(models.Model):
    """The appraised score of a leaf in one appraisal round (round 1, round 2 …).

    `Score.appraised_*` mirrors the latest round for fast totals; this keeps every round.
    A round that confirmed the unit's "not applicable" has `not_applicable` and no score.
    """

    score = models.ForeignKey(Score, on_delete=models.CASCADE, related_name="appraisals")
    round = models.PositiveSmallIntegerField()
    appraised_score = models.DecimalField(
        null=True, blank=True, max_digits=POINT_DIGITS, decimal_places=POINT_PLACES
    )
    not_applicable = models.BooleanField(default=False)
    comment = models.TextField(blank=True)
    appraiser = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["score", "round"], name="uniq_appraisal_round")
        ]

    def __str__(self) -> str:
        return f"{self.score} round {self.round}"


class AppraiserAssignment(models.Model):
    """A council member appraises one area (by code) of every case of a cycle."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    area_code = models.CharField(_("area"), max_length=32)

    class Meta:
        verbose_name = _("appraiser assignment")
        verbose_name_plural = _("appraiser assignments")
        constraints = [
            models.UniqueConstraint(fields=["cycle", "user", "area_code"], name="uniq_assignment")
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.cycle.year} – {self.area_code}"


class Council(models.Model):
    """The appraisal council of a cycle (Hội đồng thẩm định), formed each year by a decision.

    Its members are the only people the secretariat may assign areas to: council members
    through the department they represent (each area is assigned to departments), and the
    support team (Tổ giúp việc) directly.
    """

    cycle = models.OneToOneField(Cycle, on_delete=models.CASCADE, related_name="council")
    decision_number = models.CharField(_("decision number"), max_length=64)
    decision_date = models.DateField(_("decision date"))
    decision_signer = models.CharField(_("decision signed by"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("appraisal council")
        verbose_name_plural = _("appraisal councils")

    def __str__(self) -> str:
        return f"{self.cycle} – {self.decision_number}"


class CouncilMember(models.Model):
    """A person of the council: its chair, a vice-chair, a member for a department, or one
    of the support team. A member never appraises the case of the department they represent."""

    class Role(models.TextChoices):
        CHAIR = "chair", _("Chair")
        VICE_CHAIR = "vice_chair", _("Vice-chair")
        MEMBER = "member", _("Member")
        SUPPORT = "support", _("Support team")

    council = models.ForeignKey(Council, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="council_seats"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    department = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="council_members",
        verbose_name=_("department represented"),
    )

    class Meta:
        verbose_name = _("council member")
        verbose_name_plural = _("council members")
        constraints = [
            models.UniqueConstraint(fields=["council", "user"], name="uniq_council_member"),
            models.UniqueConstraint(
                fields=["council"],
                condition=models.Q(role="chair"),
                name="one_council_chair",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()}"


class CouncilArea(models.Model):
    """An area of the cycle's criteria assigned to a department represented on the council."""

    council = models.ForeignKey(Council, on_delete=models.CASCADE, related_name="areas")
    area_code = models.CharField(_("area"), max_length=32)
    department = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("department")
    )

    class Meta:
        verbose_name = _("area of a council department")
        verbose_name_plural = _("areas of council departments")
        constraints = [
            models.UniqueConstraint(
                fields=["council", "area_code", "department"], name="uniq_council_area"
            )
        ]

    def __str__(self) -> str:
        return f"{self.area_code} → {self.department.code}"


class UnitLineage(models.Model):
    """An old unit continued by a new one: a merger, a split or a renaming.

    Results follow these edges backwards to find a unit's rank in the previous cycle
    (`results.ranking`). A merger is several rows with the same successor; a split, several
    rows with the same predecessor; a renaming, one row.
    """

    class Kind(models.TextChoices):
        MERGER = "merger", _("Merger")
        SPLIT = "split", _("Split")
        RENAMING = "renaming", _("Renaming")

    predecessor = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="successor_links", verbose_name=_("old unit")
    )
    successor = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        related_name="predecessor_links",
        verbose_name=_("new unit"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.MERGER)
    effective_date = models.DateField(_("effective date"), null=True, blank=True)
    note = models.CharField(_("legal basis / note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("unit lineage")
        verbose_name_plural = _("unit lineage")
        constraints = [
            models.UniqueConstraint(fields=["predecessor", "successor"], name="uniq_lineage"),
            models.CheckConstraint(
                condition=~models.Q(predecessor=models.F("successor")), name="lineage_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.predecessor.code} → {self.successor.code}"


class RankingExclusion(models.Model):
    """The leader's decision not to rank a unit this cycle (untruthful evidence, docs/domain.md).

    The case keeps its scores and is still published; it is listed apart with the reason.
    Reinstating deletes the row; the audit trail keeps both decisions.
    """

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="exclusion")
    reason = models.TextField(_("reason"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"))
    # The follow-up the decision demands (clarify who is responsible): by whom, by when.
    follow_up_by = models.CharField(
        _("responsibility to be clarified by"), max_length=255, blank=True
    )
    follow_up_due = models.DateField(_("follow-up due"), null=True, blank=True)

    class Meta:
        verbose_name = _("exclusion from ranking")
        verbose_name_plural = _("exclusions from ranking")

    def __str__(self) -> str:
        return f"{self.case}: {self.reason[:40]}"


class SurveyImport(models.Model):
    """One accepted import of survey (điều tra xã hội học) scores; the latest one is in force.

    `rows` keeps what was imported ([unit code, criterion code, score]) so the scores in force
    can always be traced to a file, whose SHA-256 is kept here and in the audit entry.
    """

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="survey_imports")
    filename = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(max_length=64)
    row_count = models.PositiveIntegerField(_("rows"))
    rows = models.JSONField(default=list)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(_("imported at"))

    class Meta:
        verbose_name = _("survey import")
        verbose_name_plural = _("survey imports")
        ordering = ["cycle", "-imported_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.cycle} {self.filename}"


class PublishedResult(models.Model):
    """One line of the published ranking, frozen when the leader publishes the cycle.

    What was announced stays as announced (the next cycle's change of rank is taken from
    here), whatever later happens to units, lineage or frameworks.
    """

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="published_results")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="published_results")
    group_code = models.CharField(_("unit group"), max_length=32)
    rank = models.PositiveIntegerField(_("rank"), null=True, blank=True)
    index = models.DecimalField(
        _("index"), null=True, blank=True, max_digits=POINT_DIGITS, decimal_places=POINT_PLACES
    )
    classification = models.CharField(_("classification"), max_length=16, blank=True)
    excluded = models.BooleanField(_("excluded from ranking"), default=False)
    exclusion_reason = models.TextField(_("reason for exclusion"), blank=True)
    areas = models.JSONField(default=list)
    previous_rank = models.PositiveIntegerField(_("previous rank"), null=True, blank=True)
    previous_units = models.JSONField(default=list)

    class Meta:
        verbose_name = _("published result")
        verbose_name_plural = _("published results")
        constraints = [
            models.UniqueConstraint(fields=["cycle", "unit"], name="uniq_published_result")
        ]

    def __str__(self) -> str:
        return f"{self.cycle} {self.unit.code} #{self.rank}"


ZERO = Decimal("0")


class CaseUserObjectPermission(UserObjectPermissionBase):
    """Direct-FK table for guardian's per-case permissions (faster than the generic one)."""

    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        pass
