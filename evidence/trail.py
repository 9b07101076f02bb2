"""The audit entries of evidence: one builder per event, written with the evidence models.

They live here, not in `workflow.audit`, because the trail sits below this app and may not
name its models; the action codes stay with the others in `workflow.audit`. The additions
and withdrawals are recorded by services holding the case's row lock (`case_locked`).
"""

from __future__ import annotations

from datetime import datetime

from cases.models import Case
from cases.users import User
from evidence.models import Document, EvidenceLink
from workflow import audit
from workflow.audit import JsonObject
from workflow.models import AuditEntry


def _document_data(document: Document) -> JsonObject:
    return {
        "document": document.pk,
        "filename": document.filename,
        "sha256": document.sha256,
        "size": document.size,
        "content_type": document.content_type,
    }


def _link_data(link: EvidenceLink) -> JsonObject:
    return {"criterion": link.criterion.code, "version": link.version, "note": link.note}


def evidence_added(document: Document, link: EvidenceLink, *, actor: User) -> AuditEntry:
    return audit.record(
        audit.EVIDENCE_ADDED,
        actor=actor,
        case=link.case,
        case_locked=True,
        obj=document,
        data={**_document_data(document), **_link_data(link)},
    )


def evidence_linked(link: EvidenceLink, *, actor: User) -> AuditEntry:
    return audit.record(
        audit.EVIDENCE_LINKED,
        actor=actor,
        case=link.case,
        case_locked=True,
        obj=link,
        data={**_document_data(link.document), **_link_data(link)},
    )


def evidence_withdrawn(link: EvidenceLink, *, actor: User, reason: str) -> AuditEntry:
    return audit.record(
        audit.EVIDENCE_WITHDRAWN,
        actor=actor,
        case=link.case,
        case_locked=True,
        obj=link,
        before={"withdrawn": False},
        after={"withdrawn": True},
        comment=reason,
        data={**_document_data(link.document), **_link_data(link)},
    )


def evidence_downloaded(document: Document, *, actor: User, case: Case) -> AuditEntry:
    return audit.record(
        audit.EVIDENCE_DOWNLOADED,
        actor=actor,
        case=case,
        obj=document,
        data=_document_data(document),
    )


def evidence_retained(
    case: Case, *, actor: User, documents: list[int], until: datetime
) -> AuditEntry:
    return audit.record(
        audit.EVIDENCE_RETAINED,
        actor=actor,
        case=case,
        data={"documents": documents, "until": until},
    )


def evidence_integrity(document: Document, *, actor: User, case: Case, before: str) -> AuditEntry:
    return audit.record(
        audit.EVIDENCE_INTEGRITY,
        actor=actor,
        case=case,
        obj=document,
        before={"integrity": before},
        after={"integrity": document.integrity},
        data=_document_data(document),
    )
