"""The audit trail: one writer, one small builder per event type.

Every event a case or cycle can have is greppable here by its action code. Builders must be
called inside the transaction that makes the change, so that the entry and the change commit
or roll back together. Keys that look secret are masked in `data`.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from cases.models import Case, Cycle, Score
from cases.totals import totals_for
from workflow.models import AuditEntry

SECRET_HINTS = ("password", "token", "secret", "key")

# Action codes
CASE_TRANSITION = "workflow.case.{name}"
SCORE_SELF = "cases.score.self_changed"
SCORE_APPRAISED = "cases.score.appraised"
CLARIFICATION_ASKED = "workflow.clarification.asked"
CLARIFICATION_ANSWERED = "workflow.clarification.answered"
CLARIFICATION_EXPIRED = "workflow.clarification.expired"
CYCLE_OPENED = "cases.cycle.opened"
CYCLE_CHANGED = "cases.cycle.changed"
CYCLE_RESULTS_SUBMITTED = "cases.cycle.results_submitted"
CYCLE_PUBLISHED = "cases.cycle.published"
MEMBERSHIP_ADDED = "cases.membership.added"
MEMBERSHIP_REMOVED = "cases.membership.removed"
ASSIGNMENT_ADDED = "cases.assignment.added"
ASSIGNMENT_REMOVED = "cases.assignment.removed"
SURVEY_IMPORTED = "cases.survey.imported"
SCORE_SURVEY = "cases.score.survey_imported"
RANKING_EXCLUDED = "cases.ranking.excluded"
RANKING_REINSTATED = "cases.ranking.reinstated"


def _mask(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            k: "***" if any(h in str(k).lower() for h in SECRET_HINTS) else _mask(v)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [_mask(v) for v in data]
    return data


def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def canonical_json(data: Any) -> str:
    return json.dumps(
        data, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )


def record(
    action: str,
    *,
    actor: Any,
    case: Case | None = None,
    cycle: Cycle | None = None,
    obj: Any = None,
    source: str = "",
    target: str = "",
    before: Any = None,
    after: Any = None,
    comment: str = "",
    data: dict[str, Any] | None = None,
    snapshot: Any = None,
    at: Any = None,
) -> AuditEntry:
    """Write one entry. Must run inside the transaction of the change it records."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Audit entries are written inside the change's transaction.")
    snap = _jsonable(snapshot) if snapshot is not None else None
    return AuditEntry.objects.create(
        at=at or timezone.now(),
        actor=actor,
        action=action,
        case=case,
        cycle=cycle or (case.cycle if case is not None else None),
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        source=source,
        target=target,
        before=_jsonable(_mask(before)) if before is not None else None,
        after=_jsonable(_mask(after)) if after is not None else None,
        comment=comment,
        data=_jsonable(_mask(data or {})),
        snapshot=snap,
        snapshot_sha256=hashlib.sha256(canonical_json(snap).encode()).hexdigest()
        if snap is not None
        else "",
    )


def score_table_snapshot(case: Case) -> dict[str, Any]:
    """The case's score table as it stands, for the immutable snapshot of an audit entry."""
    rows = (
        Score.objects.filter(case=case).select_related("criterion").order_by("criterion__position")
    )
    totals = totals_for([case])[case.pk].as_dict()
    return {
        "case": case.pk,
        "unit": case.unit.code,
        "cycle": case.cycle_id,
        "state": case.state,
        "scores": [
            {
                "criterion": s.criterion.code,
                "max_points": s.criterion.max_points,
                "value": s.value,
                "self_score": s.self_score,
                "note": s.note,
                "not_applicable": s.not_applicable,
                "not_applicable_reason": s.not_applicable_reason,
                "evidence_explanation": s.evidence_explanation,
                "appraised_score": s.appraised_score,
                "appraised_comment": s.appraised_comment,
                "appraised_round": s.appraised_round,
            }
            for s in rows
        ],
        "totals": totals,
    }


def case_transition(
    case: Case,
    *,
    name: str,
    actor: Any,
    source: str,
    comment: str,
    data: dict[str, Any] | None = None,
    snapshot: bool = False,
) -> AuditEntry:
    return record(
        CASE_TRANSITION.format(name=name),
        actor=actor,
        case=case,
        obj=case,
        source=source,
        target=case.state,
        comment=comment,
        data=data,
        snapshot=score_table_snapshot(case) if snapshot else None,
    )


def score_fields(score: Score) -> dict[str, Any]:
    return {
        "value": score.value,
        "self_score": score.self_score,
        "note": score.note,
        "not_applicable": score.not_applicable,
        "not_applicable_reason": score.not_applicable_reason,
        "evidence_explanation": score.evidence_explanation,
        "appraised_score": score.appraised_score,
        "appraised_comment": score.appraised_comment,
        "appraised_round": score.appraised_round,
    }


def score_changed(
    score: Score, *, actor: Any, before: dict[str, Any], appraised: bool, comment: str = ""
) -> AuditEntry:
    after = score_fields(score)
    return record(
        SCORE_APPRAISED if appraised else SCORE_SELF,
        actor=actor,
        case=score.case,
        obj=score,
        before={k: v for k, v in before.items() if after.get(k) != v},
        after={k: v for k, v in after.items() if before.get(k) != v},
        comment=comment,
        data={"criterion": score.criterion.code},
    )


def decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def survey_imported(
    cycle: Cycle,
    *,
    actor: Any,
    survey_import: Any,
    before_count: int,
    after_count: int,
    changed: int,
    cases_changed: int,
) -> AuditEntry:
    """The cycle-level entry of an accepted survey import (the file is known by its hash)."""
    return record(
        SURVEY_IMPORTED,
        actor=actor,
        cycle=cycle,
        obj=survey_import,
        before={"scores": before_count},
        after={"scores": after_count},
        data={
            "filename": survey_import.filename,
            "sha256": survey_import.sha256,
            "rows": survey_import.row_count,
            "changed": changed,
            "cases_changed": cases_changed,
        },
    )


def survey_scores_changed(
    case: Case,
    *,
    actor: Any,
    survey_import: Any,
    before: dict[str, Any],
    after: dict[str, Any],
) -> AuditEntry:
    """One entry per case whose survey scores an import changed: criterion → score."""
    return record(
        SCORE_SURVEY,
        actor=actor,
        case=case,
        obj=survey_import,
        before=before,
        after=after,
        data={"sha256": survey_import.sha256},
    )


def ranking_excluded(case: Case, *, actor: Any, reason: str) -> AuditEntry:
    return record(
        RANKING_EXCLUDED,
        actor=actor,
        case=case,
        obj=case,
        before={"excluded": False},
        after={"excluded": True},
        comment=reason,
    )


def ranking_reinstated(case: Case, *, actor: Any, reason: str, previous_reason: str) -> AuditEntry:
    return record(
        RANKING_REINSTATED,
        actor=actor,
        case=case,
        obj=case,
        before={"excluded": True, "reason": previous_reason},
        after={"excluded": False},
        comment=reason,
    )
