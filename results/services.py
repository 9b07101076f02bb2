"""The writers of results: the leader's exclusions from the ranking, the frozen publication,
the unit's signed report and the self-assessment report kept as it was received (sent by
the head, or locked at the cutoff).

Units found to have provided untruthful evidence or figures are not ranked: the case keeps its
scores and state and is still published; the results list it apart with the reason. Decided
until the results are published, each decision audited on the case.
"""

from __future__ import annotations

import io
import logging
from datetime import date, datetime
from typing import Any, BinaryIO, cast

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cases import permissions
from cases.errors import Conflict, InvalidInput
from cases.models import Case, Cycle, PublishedResult, RankingExclusion, Score
from cases.users import User
from deadlines.calendar import local_date
from evidence import services as evidence_services
from evidence.errors import StoreUnavailable
from evidence.models import Document
from evidence.sniff import KINDS, FileKind
from evidence.storage import StorageError, get_storage
from results import documents, ranking
from results.models import SignedReport, SubmittedReport
from workflow import audit, events, rules
from workflow.models import AuditEntry

logger = logging.getLogger(__name__)


FOLLOW_UP_BY_MAX = 255  # RankingExclusion.follow_up_by


def _decidable_case(case_id: int, actor: User) -> Case:
    case = permissions.get_case_for_user(
        actor,
        case_id,
        queryset=Case.objects.select_for_update(of=("self",)).select_related("cycle", "unit"),
    )
    rules.enforce(rules.decide_ranking(rules.facts_for(actor, case, codes=("publish_case",))))
    return case


def follow_up_due_label() -> str:
    return _("Follow-up due")


def exclude_from_ranking(
    case_id: int,
    reason: str,
    *,
    actor: User,
    follow_up_by: str = "",
    follow_up_due: date | None = None,
    now: datetime | None = None,
) -> RankingExclusion:
    """The leader takes a unit out of the ranking of its cycle, with the reason and the
    follow-up the decision demands (who clarifies the responsibility, by when). The unit
    is told in the same transaction (the notification subscribed to the audit action)."""
    reason = reason.strip()
    follow_up_by = " ".join(follow_up_by.split())
    if len(follow_up_by) > FOLLOW_UP_BY_MAX:
        raise InvalidInput(
            _("%(field)s: at most %(max)s characters.")
            % {"field": _("Responsibility to be clarified by"), "max": FOLLOW_UP_BY_MAX}
        )
    now = now or timezone.now()
    due = follow_up_due
    if due is not None and due < local_date(now):
        raise InvalidInput(
            _("The follow-up date %(date)s has already passed.")
            % {"date": date_format(due, "d/m/Y")}
        )
    with transaction.atomic(durable=True):
        case = _decidable_case(case_id, actor)
        if not reason:
            raise InvalidInput(_("Give the reason the unit is not ranked."))
        if RankingExclusion.objects.filter(case=case).exists():
            raise Conflict(_("This unit is already excluded from the ranking."))
        exclusion = RankingExclusion.objects.create(
            case=case,
            reason=reason,
            decided_by=actor,
            decided_at=now,
            follow_up_by=follow_up_by,
            follow_up_due=due,
        )
        follow_up = (
            {"by": follow_up_by, "due": due.isoformat() if due else None}
            if follow_up_by or due
            else None
        )
        events.publish(
            audit.ranking_excluded(case, actor=actor, reason=reason, follow_up=follow_up)
        )
    return exclusion


def reinstate_in_ranking(case_id: int, reason: str, *, actor: User) -> Case:
    """The leader puts an excluded unit back into the ranking, saying why."""
    reason = (reason or "").strip()
    with transaction.atomic(durable=True):
        case = _decidable_case(case_id, actor)
        exclusion = RankingExclusion.objects.filter(case=case).first()
        if exclusion is None:
            raise Conflict(_("This unit is not excluded from the ranking."))
        if not reason:
            raise InvalidInput(_("Give the reason the unit is ranked again."))
        previous = exclusion.reason
        exclusion.delete()
        events.publish(
            audit.ranking_reinstated(case, actor=actor, reason=reason, previous_reason=previous)
        )
    return case


def freeze_results(cycle: Cycle) -> list[PublishedResult]:
    """Save the ranking as announced (called by the publication, inside its transaction)."""
    announced = ranking.compute_results(cycle, withhold_excluded=True)
    return PublishedResult.objects.bulk_create(ranking.snapshot_rows(announced))


# --- the signed self-assessment report ------------------------------------------------------

SIGNED_REPORT_ADDED = "results.signed_report.added"


def attach_signed_report(
    case_id: int, upload: UploadedFile | None, *, actor: User, now: datetime | None = None
) -> SignedReport:
    """The unit's head attaches the scan of the signed report: a PDF, within the evidence size
    limit, when `rules.attach_signed_report` allows (self-scoring, before the deadline);
    kept in the store like any evidence file."""
    permissions.get_case_for_user(actor, case_id, "submit_case")
    if upload is None:
        raise InvalidInput(_("Attach the signed report (PDF) in the field “file”."))
    at = now or timezone.now()

    def check(lock: bool) -> Case:
        queryset = Case.objects.select_related("cycle", "unit")
        if lock:
            queryset = queryset.select_for_update(of=("self",))
        case = permissions.get_case_for_user(actor, case_id, "submit_case", queryset=queryset)
        facts = rules.facts_for(actor, case, at, codes=("submit_case",), with_deadline=True)
        rules.enforce(rules.attach_signed_report(facts))
        return case

    def accept(kind: FileKind, name: str) -> None:
        if kind.code != "pdf":
            raise InvalidInput(
                _("“%(name)s” cannot be accepted: the signed report must be a PDF, it is %(what)s.")
                % {"name": name, "what": kind}
            )

    def record(case: Case, document: Document) -> SignedReport:
        report = SignedReport.objects.create(
            case=case, document=document, uploaded_by=actor, uploaded_at=at
        )
        audit.record(
            SIGNED_REPORT_ADDED,
            actor=actor,
            case=case,
            cycle=case.cycle,
            obj=report,
            data={"filename": document.filename, "sha256": document.sha256, "size": document.size},
        )
        return report

    return evidence_services.keep_file(
        cast(BinaryIO, upload),  # a Django upload reads like a binary file
        filename=upload.name or "",
        size=upload.size or 0,
        actor=actor,
        now=at,
        check=check,
        record=record,
        accept=accept,
    )


def signed_report_guard(case: Case, now: datetime, params: dict[str, Any]) -> list[str]:
    """Where the cycle requires it, the submission counts only with a signed report uploaded
    after the last change of the score table (it must be the table being sent)."""
    if not case.cycle.signed_report_required:
        return []
    latest = SignedReport.objects.filter(case_id=case.pk).order_by("-uploaded_at").first()
    if latest is None:
        return [_("Attach the scan of the signed self-assessment report (PDF) before sending.")]
    changed = Score.objects.filter(case_id=case.pk, updated_at__gt=latest.uploaded_at).exists()
    if changed:
        return [
            _(
                "Scores changed after the signed report was attached: print the report again, "
                "sign it and attach the new scan."
            )
        ]
    return []


# --- the self-assessment report as it was sent ----------------------------------------------

SUBMITTED_REPORT_KEPT = "results.submitted_report.kept"


def keep_submitted_report(entry: AuditEntry) -> SubmittedReport:
    """Write the case's self-assessment report as it stands at the submission `entry` and
    keep it in the evidence store, then give it the retention the case's evidence has."""
    case = Case.objects.select_related("cycle", "unit").get(pk=entry.case_id)
    content = documents.self_assessment_report(case)
    at = timezone.now()

    def check(lock: bool) -> Case:
        queryset = Case.objects.select_related("cycle", "unit")
        found = (queryset.select_for_update(of=("self",)) if lock else queryset).get(pk=case.pk)
        if SubmittedReport.objects.filter(submission=entry).exists():
            # Kept meanwhile (another worker's pass): the file just stored is discarded.
            raise Conflict(_("The report of this sending is already kept."))
        return found

    def record(locked: Case, document: Document) -> SubmittedReport:
        report = SubmittedReport.objects.create(case=locked, document=document, submission=entry)
        audit.record(
            SUBMITTED_REPORT_KEPT,
            actor=document.uploaded_by,
            case=locked,
            cycle=locked.cycle,
            obj=report,
            data={"filename": document.filename, "sha256": document.sha256, "size": document.size},
        )
        return report

    report = evidence_services.keep_file(
        io.BytesIO(content),
        filename=f"bao-cao-tu-danh-gia-{case.unit.code.lower()}-{case.cycle.year}.docx",
        size=len(content),
        actor=permissions.system_user(),
        now=at,
        check=check,
        record=record,
        made=KINDS["docx"],
    )
    evidence_services.retain_case_evidence(case.pk)
    return report


# Reports kept per pass of the worker: a cutoff that locked thousands of cases is caught up
# over a few passes instead of holding one pass for minutes.
KEPT_PER_PASS = 100


def reports_to_keep(limit: int = KEPT_PER_PASS) -> list[AuditEntry]:
    """The receivings (sent or locked at the cutoff) that are the last of their case, in a
    cycle not yet published, while the case is not being self-scored again, and whose report
    is not kept: what the council must be able to read as it was received. Oldest first."""
    last = (
        AuditEntry.objects.filter(case_id=OuterRef("case_id"), action__in=documents.SUBMISSIONS)
        .order_by("-at", "-pk")
        .values("pk")[:1]
    )
    return list(
        AuditEntry.objects.filter(
            action__in=documents.SUBMISSIONS,
            case__cycle__status__in=(Cycle.Status.OPEN, Cycle.Status.RESULTS_SUBMITTED),
        )
        .exclude(case__state=Case.State.SELF_SCORING)
        .annotate(last=Subquery(last))
        .filter(pk=F("last"))
        .exclude(Exists(SubmittedReport.objects.filter(submission=OuterRef("pk"))))
        .order_by("pk")[:limit]
    )


def keep_missing_reports(limit: int = KEPT_PER_PASS) -> int:
    """Keep the reports `reports_to_keep` finds (run by the deadline worker after each
    sweep). The need is read from what committed, so a keeping lost to a dropped connection
    or a store that was down is simply found again on the next pass. Stops at the first
    store failure: the others would wait on it too. Returns how many were kept."""
    kept = 0
    for entry in reports_to_keep(limit):
        try:
            keep_submitted_report(entry)
        except Conflict:
            continue  # kept by another pass meanwhile
        except StoreUnavailable:
            logger.warning("The evidence store is down: reports will be kept on a later pass.")
            break
        except Exception:
            logger.exception("Could not keep the report of audit entry %s.", entry.pk)
            continue
        kept += 1
    return kept


def submitted_report(case: Case) -> bytes | None:
    """The report kept at the case's last sending, byte for byte; None while the case is
    being self-scored, when it cannot be kept, or when the store cannot give it back.

    The sending itself does not write the report (a Word document costs more than the whole
    transition, on the day most units send): the worker keeps it on its next pass
    (`keep_missing_reports`), or the first reader does, here, if that comes first."""
    if case.state == Case.State.SELF_SCORING:
        return None
    submission = documents.last_submission(case)
    if submission is None:
        return None
    kept = SubmittedReport.objects.select_related("document").filter(submission=submission).first()
    if kept is None:
        try:
            kept = keep_submitted_report(submission)
        except Conflict:  # kept by the worker meanwhile
            kept = SubmittedReport.objects.select_related("document").get(submission=submission)
        except StoreUnavailable:
            return None  # the worker keeps it once the store is back
        except Exception:  # the reader still gets the report, written afresh
            logger.exception("Could not keep the report of audit entry %s.", submission.pk)
            return None
    if kept.document.integrity != Document.Integrity.OK:
        return None
    try:
        return b"".join(
            get_storage().iter_chunks(kept.document.storage_key, kept.document.version_id)
        )
    except StorageError:
        logger.warning("The kept report %s cannot be read from the store.", kept.pk)
        return None
