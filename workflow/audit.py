"""The audit trail: one writer, one small builder per event type.

Every event a case or cycle can have is greppable here by its action code. Builders must be
called inside the transaction that makes the change, so that the entry and the change commit
or roll back together. Keys that look secret are masked in `data`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from cases.models import Case, Cycle, Score
from cases.totals import totals_from_scores
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
EXTENSION_GRANTED = "deadlines.extension.granted"
CALENDAR_DAY_ADDED = "deadlines.calendar.day_added"
CALENDAR_DAY_REMOVED = "deadlines.calendar.day_removed"

EVIDENCE_ADDED = "evidence.file.added"
EVIDENCE_LINKED = "evidence.link.added"
EVIDENCE_WITHDRAWN = "evidence.link.withdrawn"
EVIDENCE_DOWNLOADED = "evidence.file.downloaded"
EVIDENCE_RETAINED = "evidence.file.retained"
EVIDENCE_INTEGRITY = "evidence.file.integrity_changed"

# Parts other apps add to a case's snapshot (evidence adds the versions the scores rely on).
SnapshotPart = Callable[[Case], Any]
_snapshot_parts: dict[str, SnapshotPart] = {}


def register_snapshot_part(name: str, part: SnapshotPart) -> None:
    """Called once from an app's AppConfig.ready(): `part(case)` joins every snapshot."""
    _snapshot_parts[name] = part


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
    entry = AuditEntry(
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
    _append(entry)
    return entry


# --- the hash chain -----------------------------------------------------------------------
#
# Each entry's hash covers its fields and the previous entry's hash, so altering, deleting or
# inserting an entry breaks the chain at that point. Appends are serialised: on PostgreSQL a
# transaction-scoped advisory lock, taken right before reading the last hash and held until
# the transaction ends (releasing it earlier would let a second writer read a last hash whose
# successor is not yet committed, and fork the chain). The cost: transactions that write
# audit entries commit one at a time from their first entry on, so services write the entry
# at the end of their work. SQLite serialises every write anyway.

GENESIS_HASH = "0" * 64
_CHAIN_LOCK = 0x50415241  # "PARA": the advisory lock key of the audit chain


def entry_fields(entry: AuditEntry) -> dict[str, Any]:
    """What the hash covers: every recorded field (the snapshot through its own hash)."""
    from datetime import UTC

    return {
        "at": entry.at.astimezone(UTC).isoformat(),
        "actor": entry.actor_id,
        "action": entry.action,
        "case": entry.case_id,
        "cycle": entry.cycle_id,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "source": entry.source,
        "target": entry.target,
        "before": entry.before,
        "after": entry.after,
        "comment": entry.comment,
        "data": entry.data,
        "snapshot_sha256": entry.snapshot_sha256,
        "prev_hash": entry.prev_hash,
    }


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(canonical_json(entry_fields(entry)).encode()).hexdigest()


def _append(entry: AuditEntry) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
    last = AuditEntry.objects.order_by("-pk").values_list("hash", flat=True).first()
    entry.prev_hash = last or GENESIS_HASH
    entry.hash = entry_hash(entry)
    entry.save(force_insert=True)


def verify_chain() -> tuple[int, str]:
    """Walk the chain in pk order: (entries checked, "" or the first break in words)."""
    checked = 0
    previous: AuditEntry | None = None
    before_previous_hash = ""
    for entry in AuditEntry.objects.order_by("pk").iterator(chunk_size=2000):
        label = f"audit entry #{entry.pk} ({entry.at:%Y-%m-%d %H:%M:%S} {entry.action})"
        if (
            entry.snapshot is not None
            and entry.snapshot_sha256
            != hashlib.sha256(canonical_json(entry.snapshot).encode()).hexdigest()
        ):
            return checked, f"{label} was altered: its snapshot does not match its hash"
        if entry_hash(entry) != entry.hash:
            return checked, f"{label} was altered: its content does not match its hash"
        expected = previous.hash if previous is not None else GENESIS_HASH
        if entry.prev_hash != expected:
            if previous is not None and entry.prev_hash == before_previous_hash:
                return checked, (
                    f"audit entry #{previous.pk} ({previous.at:%Y-%m-%d %H:%M:%S} "
                    f"{previous.action}) was inserted: {label} follows the entry before it"
                )
            after = f"after audit entry #{previous.pk}" if previous else "at the start"
            return checked, f"an audit entry was deleted {after}: {label} does not follow it"
        before_previous_hash = previous.hash if previous is not None else GENESIS_HASH
        previous = entry
        checked += 1
    return checked, ""


def score_table_snapshot(case: Case) -> dict[str, Any]:
    """The case's score table as it stands, for the immutable snapshot of an audit entry."""
    rows = case.score_rows()
    totals = totals_from_scores(case, rows).as_dict()
    snapshot = {
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
    for name, part in _snapshot_parts.items():
        snapshot[name] = part(case)
    return snapshot


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
        "not_applicable_decision": score.not_applicable_decision,
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


def extension_granted(
    extension: Any, *, actor: Any, case: Case, data: dict[str, Any] | None = None
) -> AuditEntry:
    """A unit got a later self-assessment or explanation deadline (gia hạn), with the reason."""
    return record(
        EXTENSION_GRANTED,
        actor=actor,
        case=case,
        obj=extension,
        before={"due_date": extension.previous_due},
        after={"due_date": extension.due_date},
        comment=extension.reason,
        data={"kind": extension.kind, **(data or {})},
    )


def calendar_day_changed(override: Any, *, actor: Any, added: bool, reason: str) -> AuditEntry:
    """The secretariat added or removed a day off or a make-up working day."""
    state = {"day": override.day, "kind": override.kind}
    return record(
        CALENDAR_DAY_ADDED if added else CALENDAR_DAY_REMOVED,
        actor=actor,
        obj=override,
        before=None if added else state,
        after=state if added else None,
        comment=reason,
    )


# --- evidence (evidence/services.py calls these; `document`/`link` are its models) -----------


def _document_data(document: Any) -> dict[str, Any]:
    return {
        "document": document.pk,
        "filename": document.filename,
        "sha256": document.sha256,
        "size": document.size,
        "content_type": document.content_type,
    }


def _link_data(link: Any) -> dict[str, Any]:
    return {"criterion": link.criterion.code, "version": link.version, "note": link.note}


def evidence_added(document: Any, link: Any, *, actor: Any) -> AuditEntry:
    return record(
        EVIDENCE_ADDED,
        actor=actor,
        case=link.case,
        obj=document,
        data={**_document_data(document), **_link_data(link)},
    )


def evidence_linked(link: Any, *, actor: Any) -> AuditEntry:
    return record(
        EVIDENCE_LINKED,
        actor=actor,
        case=link.case,
        obj=link,
        data={**_document_data(link.document), **_link_data(link)},
    )


def evidence_withdrawn(link: Any, *, actor: Any, reason: str) -> AuditEntry:
    return record(
        EVIDENCE_WITHDRAWN,
        actor=actor,
        case=link.case,
        obj=link,
        before={"withdrawn": False},
        after={"withdrawn": True},
        comment=reason,
        data={**_document_data(link.document), **_link_data(link)},
    )


def evidence_downloaded(document: Any, *, actor: Any, case: Case) -> AuditEntry:
    return record(
        EVIDENCE_DOWNLOADED, actor=actor, case=case, obj=document, data=_document_data(document)
    )


def evidence_retained(case: Case, *, actor: Any, documents: list[int], until: Any) -> AuditEntry:
    return record(
        EVIDENCE_RETAINED, actor=actor, case=case, data={"documents": documents, "until": until}
    )


def evidence_integrity(document: Any, *, actor: Any, case: Case, before: str) -> AuditEntry:
    return record(
        EVIDENCE_INTEGRITY,
        actor=actor,
        case=case,
        obj=document,
        before={"integrity": before},
        after={"integrity": document.integrity},
        data=_document_data(document),
    )


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
