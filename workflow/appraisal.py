"""What an appraiser reads: the work list of a cycle and the side-by-side view of a case.

Read models only (the writes are `workflow.services.set_appraised_score` and
`ask_clarification`). Both are built in a constant number of queries.

The side-by-side view (đối chiếu) has one row per leaf criterion: the unit's self score and
notes, the appraised score of the current round and of every earlier round, the questions
asked on it, and the difference flagged. Apps above the workflow add their own per-criterion
data through `register_criterion_column` (the evidence app adds the files a score relies on)
without this module importing them.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Count, Q

from cases import permissions
from cases.models import (
    SELF_SCORED,
    Appraisal,
    AppraiserAssignment,
    Case,
    Criterion,
    Cycle,
    Score,
)
from cases.scoring import counts_working_days_late
from cases.users import User
from deadlines import policy
from workflow import rules
from workflow.models import Clarification

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class WorkCounts(TypedDict):
    assigned: int
    unappraised: int


Provider = Callable[[Case, list[Score]], dict[int, Any]]
_columns: dict[str, tuple[Provider, Callable[[], Any]]] = {}


def register_criterion_column(name: str, provider: Provider, default: Callable[[], Any]) -> None:
    """Add a per-criterion key to the side-by-side view: provider(case, scores) returns
    {score id: value} in one query; leaves it does not mention get `default()`."""
    _columns[name] = (provider, default)


def _no_evidence_yet(case: Case, scores: list[Score]) -> dict[int, Any]:
    return {}


# Until the evidence app registers its provider, every row says it has no evidence listed.
register_criterion_column("evidence", _no_evidence_yet, list)


def worklist(user: User, cycle: Cycle, state: str = "") -> list[WithAnnotations[Case, WorkCounts]]:
    """Cases of the cycle the user may appraise, each annotated with `assigned` (leaves of the
    user's areas to appraise) and `unappraised` (those without an appraisal yet)."""
    areas = (
        None
        if permissions.has_global(user, "cases.appraise_case")
        else _assigned_areas(user, cycle)
    )
    scope = Q(scores__criterion__method__in=SELF_SCORED)
    if areas is not None:
        scope &= Q(scores__criterion__area__code__in=areas)
    cases = (
        permissions.appraisable_cases(user)
        .filter(cycle=cycle)
        .select_related("unit", "unit__group")
        .annotate(
            assigned=Count("scores", filter=scope),
            unappraised=Count("scores", filter=scope & Q(scores__appraised_round__isnull=True)),
        )
        .order_by("unit__group__code", "unit__code")
    )
    if state:
        cases = cases.filter(state=state)
    return list(cases)


def _assigned_areas(user: User, cycle: Cycle) -> list[str]:
    return list(
        AppraiserAssignment.objects.filter(cycle=cycle, user=user).values_list(
            "area_code", flat=True
        )
    )


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def side_by_side(case: Case, user: User) -> dict[str, Any]:
    """Every leaf of the case: self score, appraised score (all rounds), questions, the gap."""
    facts = rules.facts_for(user, case)
    scores = list(
        Score.objects.filter(case=case)
        .select_related("criterion", "criterion__area", "appraised_by")
        .order_by("criterion__position")
    )
    rounds: dict[int, list[dict[str, Any]]] = {}
    for appraisal in (
        Appraisal.objects.filter(score__case=case).select_related("appraiser").order_by("round")
    ):
        rounds.setdefault(appraisal.score_id, []).append(
            {
                "round": appraisal.round,
                "score": _dec(appraisal.appraised_score),
                "not_applicable": appraisal.not_applicable,
                "comment": appraisal.comment,
                "appraiser": appraisal.appraiser.username,
                "at": appraisal.at,
            }
        )
    questions: dict[int, list[dict[str, Any]]] = {}
    for q in Clarification.objects.filter(case=case).order_by("asked_at", "pk"):
        questions.setdefault(q.criterion_id, []).append(
            {
                "id": q.pk,
                "round": q.round,
                "status": q.status,
                "question": q.question,
                "answer": q.answer,
                "due_at": q.due_at,
            }
        )
    extra = {
        name: (provider(case, scores), default) for name, (provider, default) in _columns.items()
    }
    area_rows: dict[int, dict[str, Any]] = {}
    area_list = (
        Criterion.objects.of_case(case)
        .filter(parent__isnull=True)
        .order_by("position")
        .values("pk", "code", "title", "max_points")
    )
    for area in area_list:
        area_rows[area["pk"]] = {
            "code": area["code"],
            "title": area["title"],
            "max_points": _dec(area["max_points"]),
            "criteria": [],
        }
    differing = unappraised = 0
    for score in scores:
        criterion = score.criterion
        row = _criterion_row(score, facts, questions.get(criterion.pk, []))
        row["proposed"] = _proposal(case, criterion)
        row["rounds"] = rounds.get(score.pk, [])
        for name, (values, default) in extra.items():
            row[name] = values.get(score.pk, default())
        # Requires evidence, but rests on the unit's written explanation alone.
        row["rests_on_text"] = (
            criterion.evidence_required
            and not score.not_applicable
            and bool(score.evidence_explanation)
            and not row.get("evidence")
        )
        differing += row["differs"]
        unappraised += row["to_appraise"]
        area_rows[criterion.area_id or criterion.pk]["criteria"].append(row)
    return {
        "case": case.pk,
        "unit": {"code": case.unit.code, "name": case.unit.name},
        "state": case.state,
        "appraisal_round": case.appraisal_round,
        "summary": {"criteria": len(scores), "unappraised": unappraised, "differing": differing},
        "areas": [a for a in area_rows.values() if a["criteria"]],
    }


def _proposal(case: Case, criterion: Criterion) -> dict[str, Any] | None:
    """What the dates propose for a penalty counted per working day late."""
    if not counts_working_days_late(criterion):
        return None
    late = policy.late_penalty(case, criterion)
    if late is None:
        return None
    return {
        "working_days_late": late.days,
        "per_day": _dec(late.per_day),
        "score": _dec(late.points),
    }


def _criterion_row(
    score: Score, facts: rules.Facts, questions: list[dict[str, Any]]
) -> dict[str, Any]:
    criterion = score.criterion
    area_code = criterion.area_code
    appraised = criterion.method in SELF_SCORED
    difference = None
    if score.self_score is not None and score.appraised_score is not None:
        difference = score.appraised_score - score.self_score
    # The unit's own "not applicable" clears its self score: a self score on a leaf now not
    # applicable means the appraiser found it not applicable.
    differs = bool(difference) or (score.not_applicable and score.self_score is not None)
    return {
        "criterion": criterion.code,
        "title": criterion.title,
        "area": area_code,
        "max_points": _dec(criterion.max_points),
        "method": criterion.method,
        "evidence_required": criterion.evidence_required,
        "not_applicable_allowed": criterion.not_applicable_allowed,
        "self": {
            "score": _dec(score.self_score),
            "value": _dec(score.value),
            "note": score.note,
            "evidence_explanation": score.evidence_explanation,
            "not_applicable": score.not_applicable,
            "not_applicable_reason": score.not_applicable_reason,
        },
        "not_applicable_decision": score.not_applicable_decision,
        "appraised": {
            "score": _dec(score.appraised_score),
            "comment": score.appraised_comment,
            "round": score.appraised_round,
            "by": score.appraised_by.username if score.appraised_by is not None else None,
            "at": score.appraised_at,
        },
        "difference": _dec(difference),
        "differs": differs,
        "to_appraise": appraised and score.appraised_round is None,
        "questions": questions,
        # Bonus and penalty leaves are appraised too, though a case is complete without.
        "may_appraise": not rules.appraise_criterion(
            facts,
            code=criterion.code,
            area=area_code,
            survey=criterion.is_survey,
            open_question=any(q["status"] == Clarification.Status.OPEN for q in questions),
        ),
        "version": score.version,
    }
