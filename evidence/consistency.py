"""Consistency between evidence rows and stored objects (`manage.py evidence_check`).

Finds:
- `missing`: a row whose object (that exact version) is not in the store;
- `mismatch`: a row whose object has another size or SHA-256 than recorded;
- `orphan`: an object no row references (a failed upload whose clean-up failed, or a crash
  between storing and recording); objects younger than the grace period are left alone,
  since an upload may be between its two steps right now;
- `unlocked`: on a store with object lock, an object of a frozen case without retention
  (the after-commit freeze failed, e.g. the store was down at that moment);
- `restored`: a row marked broken whose object is now found intact (restored from backup).

What `--repair` does, and why it is safe:
- missing / mismatch: the row is MARKED (`integrity`), never deleted: the audit trail and
  the snapshots refer to it. A marked document no longer counts as evidence for the submit
  guard, cannot be downloaded (410) and cannot be linked again; the unit uploads it again.
- orphan: the object is deleted (that version only). No row refers to it, so nothing in the
  application can reach it; a locked object is left in place and reported.
- unlocked: the retention is applied.
- restored: the row is marked intact again.
Every change of a row is audited, with the system user as actor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from cases.permissions import system_user
from evidence import trail
from evidence.models import Document
from evidence.services import FROZEN_STATES, retention_until
from evidence.storage import ObjectMissing, ObjectRef, Storage, StorageError, get_storage

BATCH = 500


@dataclass
class Problem:
    kind: str
    key: str
    version_id: str = ""
    document: Document | None = None
    detail: str = ""
    repaired: bool = False
    outcome: str = ""

    def describe(self) -> str:
        where = self.key + (f" (version {self.version_id})" if self.version_id else "")
        if self.document is not None:
            doc = self.document
            where = f"document {doc.pk} of case {doc.case_id} “{doc.filename}” at {where}"
        text = f"{self.kind.upper():9} {where}: {self.detail}"
        return f"{text} → {self.outcome}" if self.outcome else text


@dataclass
class Report:
    rows: int = 0
    objects: int = 0
    recent_skipped: int = 0
    problems: list[Problem] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Problem]:
        return [p for p in self.problems if p.kind == kind]

    @property
    def unresolved(self) -> list[Problem]:
        return [p for p in self.problems if not p.repaired]


def check(
    *,
    repair: bool = False,
    checksums: bool = True,
    grace: timedelta = timedelta(hours=1),
    now: datetime | None = None,
    store: Storage | None = None,
) -> Report:
    """Compare every row with the store and every stored object with the rows."""
    store = store or get_storage()
    now = now or timezone.now()
    report = Report()
    lock = store.retention_supported()
    for document in Document.objects.select_related("case").order_by("pk").iterator(BATCH):
        report.rows += 1
        _check_row(store, document, report, repair=repair, checksums=checksums, lock=lock)
    for batch in _batches(store.list_objects()):
        report.objects += len(batch)
        known = set(
            Document.objects.filter(storage_key__in={ref.key for ref in batch}).values_list(
                "storage_key", "version_id"
            )
        )
        for ref in batch:
            if (ref.key, ref.version_id) in known or (ref.key, "") in known:
                continue
            if ref.last_modified is not None and now - ref.last_modified < grace:
                report.recent_skipped += 1
                continue
            problem = Problem(
                "orphan", ref.key, ref.version_id, detail=f"{ref.size} bytes, no row refers to it"
            )
            report.problems.append(problem)
            if repair:
                try:
                    store.delete(ref.key, ref.version_id)
                    problem.repaired, problem.outcome = True, "deleted"
                except StorageError as exc:
                    problem.outcome = f"left in place: the store refused ({exc})"
    return report


def _batches(refs: Iterator[ObjectRef]) -> Iterator[list[ObjectRef]]:
    batch: list[ObjectRef] = []
    for ref in refs:
        batch.append(ref)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _check_row(
    store: Storage, document: Document, report: Report, *, repair: bool, checksums: bool, lock: bool
) -> None:
    key, version = document.storage_key, document.version_id
    state, detail = Document.Integrity.OK, ""
    try:
        found = store.stat(key, version)
        if found.size != document.size:
            state = Document.Integrity.MISMATCH
            detail = f"{found.size} bytes stored, {document.size} recorded"
        elif checksums:
            digest = store.sha256(key, version)
            if digest != document.sha256:
                state = Document.Integrity.MISMATCH
                detail = f"SHA-256 {digest} stored, {document.sha256} recorded"
    except ObjectMissing:
        state, detail = Document.Integrity.MISSING, "the object is not in the store"

    if state != Document.Integrity.OK:
        problem = Problem(state, key, version, document, detail)
        report.problems.append(problem)
        if document.integrity == state:
            problem.repaired, problem.outcome = True, f"already marked {state}"
        elif repair:
            _mark(document, state)
            problem.repaired, problem.outcome = True, f"marked {state}"
        return
    if document.integrity != Document.Integrity.OK:
        problem = Problem("restored", key, version, document, "the object is intact again")
        report.problems.append(problem)
        if repair:
            _mark(document, Document.Integrity.OK)
            problem.repaired, problem.outcome = True, "marked intact"
    if lock and document.retained_until is None and document.case.state in FROZEN_STATES:
        problem = Problem(
            "unlocked", key, version, document, f"the case is {document.case.state}, no retention"
        )
        report.problems.append(problem)
        if repair:
            until = retention_until()
            store.retain(key, version, until)
            Document.objects.filter(pk=document.pk).update(retained_until=until)
            with transaction.atomic():
                trail.evidence_retained(
                    document.case, actor=system_user(), documents=[document.pk], until=until
                )
            problem.repaired, problem.outcome = True, f"locked until {until:%Y-%m-%d}"


def _mark(document: Document, state: str) -> None:
    with transaction.atomic():
        before = document.integrity
        document.integrity = state
        Document.objects.filter(pk=document.pk).update(integrity=state)
        trail.evidence_integrity(document, actor=system_user(), case=document.case, before=before)
