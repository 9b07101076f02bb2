"""The only writers of evidence: upload, link, withdraw, download, freeze.

Consistency between the database and the store:
1. Permission and state are checked before the request body is read. A file whose first bytes
   decide its type (a PDF or image scan) then goes on to the store while it arrives
   (`evidence.uploads`); any other file is checked whole (size, type from the bytes) before a
   byte is stored. Either way the store is written OUTSIDE any transaction (a transaction
   must not wait on the network), the SHA-256 computed on the way.
2. A short durable transaction locks the case row, checks everything again (the criterion,
   and the state: the case may have been submitted meanwhile), inserts the rows and the
   audit entry.
3. If anything after the store was written fails or refuses, the object is deleted at once;
   if even that fails (the store went down), `manage.py evidence_check` reports it as an
   orphan and `--repair` removes it.

Frozen evidence: uploads and links are possible in self_scoring and, for questioned criteria,
in explanation; withdrawal only in self_scoring. After a freezing transition commits, the
case's objects get a governance-mode retention where the store supports it
(`on_workflow_event`), so that a delete is refused by the server itself.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import bulk, permissions
from cases.compiled import Compiled
from cases.errors import Conflict, InvalidInput, NotFound
from cases.models import BONUS_PENALTY, Case, Criterion, Method, Unit
from cases.users import User
from deadlines import policy
from evidence import sniff, trail
from evidence.errors import Gone, StoreUnavailable, TooLarge
from evidence.models import Document, EvidenceLink
from evidence.storage import Storage, StorageError, Stored, get_storage, new_key
from workflow import audit, events, rules
from workflow.models import AuditEntry, Clarification

logger = logging.getLogger(__name__)
T = TypeVar("T")

S = Case.State
# Transitions after which the case's evidence is locked in the store.
FREEZING = ("submit", "lock_at_cutoff", "submit_explanation", "expire_explanation")
FREEZING_ACTIONS = frozenset(audit.CASE_TRANSITION.format(name=name) for name in FREEZING)
# States in which every object of the case should carry a retention.
FROZEN_STATES = (S.SUBMITTED, S.APPRAISING, S.FINALISED, S.PUBLISHED)
NOTE_MAX = 500
FILENAME_MAX = 255


# --- input ----------------------------------------------------------------------------------


def limit_bytes() -> int:
    return int(settings.EVIDENCE_MAX_UPLOAD_MB) * 1024 * 1024


def too_large(filename: str | None = None) -> TooLarge:
    limit = settings.EVIDENCE_MAX_UPLOAD_MB
    if filename:
        return TooLarge(
            _("“%(name)s” is larger than the limit of %(limit)s MB.")
            % {"name": clean_filename(filename), "limit": limit}
        )
    return TooLarge(_("The file is larger than the limit of %(limit)s MB.") % {"limit": limit})


def clean_filename(name: str | None) -> str:
    """The user's file name as shown back to people: NFC (Vietnamese diacritics composed),
    no folders, no control or bidi-override characters, at most 255 characters."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = " ".join(text.split())  # tabs and newlines become spaces
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    if text in ("", ".", ".."):
        return "evidence"
    if len(text) > FILENAME_MAX:
        stem, dot, ext = text.rpartition(".")
        ext = ext[:16] if dot and stem else ""
        text = text[: FILENAME_MAX - len(ext) - 1] + "." + ext if ext else text[:FILENAME_MAX]
    return text


def _clean_note(note: str) -> str:
    text = " ".join(note.split())
    if len(text) > NOTE_MAX:
        raise InvalidInput(
            _("The note on the section or page is too long (at most %(max)s characters).")
            % {"max": NOTE_MAX}
        )
    return text


def _allowed_labels() -> str:
    return ", ".join(str(sniff.KINDS[code].label) for code in settings.EVIDENCE_ALLOWED_TYPES)


def check_file(upload: BinaryIO, filename: str, size: int) -> sniff.FileKind:
    """Refuse an empty, oversized or not allowed file, judged from its bytes."""
    if size == 0:
        raise InvalidInput(_("“%(name)s” is empty.") % {"name": filename})
    if size > limit_bytes():
        raise too_large(filename)
    kind = sniff.identify(upload)
    if kind.code == "empty":
        raise InvalidInput(_("“%(name)s” is empty.") % {"name": filename})
    if kind.code not in settings.EVIDENCE_ALLOWED_TYPES:
        raise InvalidInput(
            _("“%(name)s” cannot be accepted: it is %(what)s.") % {"name": filename, "what": kind},
            [_("Accepted types: %(types)s.") % {"types": _allowed_labels()}],
        )
    return kind


# --- who may change what, when --------------------------------------------------------------


# What `_require_change` asks about the user, answered by the query that reads the case.
_CHANGE_PERMS = ("edit_self_score", "answer_clarification")


def _case(case_id: int, actor: User, *, lock: bool = False) -> Case:
    """The case with what the rules of a change read (the permissions, the self-assessment
    date) in one query; locked, with the head of its audit chain too, so that the entry of
    the change is appended without reading it again. Both reads are compiled once
    (shapes of `permissions.get_case_for_user`)."""
    shape = _locked_case_for_change if lock else _case_for_change
    return permissions.get_case_for_user(actor, case_id, queryset=shape, also=_CHANGE_PERMS)


def _case_for_change() -> QuerySet[Case]:
    return Case.objects.select_related("cycle", "unit").annotate(
        **{policy.SELF_DUE: policy.self_due_sql()}
    )


def _locked_case_for_change() -> QuerySet[Case]:
    return _case_for_change().select_for_update(of=("self",)).annotate(**audit.case_head())


def _state_label(case: Case) -> str:
    return str(Case.State(case.state).label)


def _require_change(case: Case, actor: User, now: datetime, *, withdraw: bool = False) -> None:
    """The unit's staff or head, while the case takes evidence (403/409/400 otherwise, from
    `workflow.rules`, which the pages ask too)."""
    facts = rules.facts_for(actor, case, now, codes=_CHANGE_PERMS, with_deadline=True)
    rules.enforce((rules.withdraw_evidence if withdraw else rules.add_evidence)(facts))


# The criterion an upload or a link names, compiled once (`cases.compiled`): building and
# compiling the queryset cost more CPU than the rest of an upload's reads together. The case
# stands in by the ids its criteria tree is found by.
_LEAF: Compiled[Criterion] = Compiled(
    lambda _key, cycle, group, code: Criterion.objects.leaves_of(
        Case(cycle_id=cycle, unit=Unit(group_id=group))
    ).filter(code=code)
)


def _criterion(case: Case, code: str) -> Criterion:
    code = code.strip()
    if not code:
        raise InvalidInput(_("Say which criterion the evidence is for."))
    found = _LEAF((), case.cycle_id, case.unit.group_id, code)
    criterion = found[0] if found else None
    if criterion is None:
        raise InvalidInput(
            _("Criterion %(code)s is not a scored criterion of this case's framework.")
            % {"code": code}
        )
    if criterion.is_survey:
        raise InvalidInput(
            _("Criterion %(code)s is scored by the survey import and takes no evidence.")
            % {"code": code}
        )
    if (
        case.state == S.EXPLANATION
        and not Clarification.objects.filter(
            case=case, criterion=criterion, round=case.appraisal_round
        ).exists()
    ):
        raise InvalidInput(
            _(
                "During the explanation, evidence can be added only to criteria with a "
                "clarification question; %(code)s has none."
            )
            % {"code": code}
        )
    return criterion


def check_may_add(case_id: int, actor: User, *, now: datetime | None = None) -> Case:
    """Refuse an upload before its body is read, when the user or the state cannot."""
    case = _case(case_id, actor)
    _require_change(case, actor, now or timezone.now())
    return case


# --- upload, link, withdraw -----------------------------------------------------------------


# A criterion's last version of evidence in a case, compiled once (`cases.compiled`).
_LAST_VERSION: Compiled[EvidenceLink] = Compiled(
    lambda _key, case, criterion: (
        EvidenceLink.objects.filter(case_id=case, criterion_id=criterion)
        .order_by("-version")
        .values_list("version")[:1]
    )
)


def _next_version(case: Case, criterion: Criterion) -> int:
    last = _LAST_VERSION.rows((), case.pk, criterion.pk)
    return (last[0][0] if last else 0) + 1


def _add_link(
    case: Case, document: Document, criterion: Criterion, note: str, actor: User, now: datetime
) -> EvidenceLink:
    link = EvidenceLink(
        case=case,
        document=document,
        criterion=criterion,
        version=_next_version(case, criterion),
        note=note,
        created_by=actor,
        created_at=now,
    )
    bulk.create([link])  # its INSERT written once per process, not compiled per row
    return link


def add_evidence(
    case_id: int,
    criterion_code: str,
    upload: BinaryIO,
    *,
    actor: User,
    filename: str,
    size: int,
    note: str = "",
    now: datetime | None = None,
) -> EvidenceLink:
    """Store one file as a new version of a criterion's evidence; returns the link.

    `upload` is a spooled file, or one the upload handler already streamed to the store
    while it arrived (it has `stored`); from here on this function answers for that object,
    whatever it refuses (the note's length, the criterion, the case's state). The criterion
    and the note arrive as texts: the edge typed them, and a refusal there leaves the object
    unclaimed, for the upload handler to delete when the request ends.
    """
    at = now or timezone.now()
    chosen: dict[str, Any] = {}

    def check(lock: bool) -> Case:
        chosen["note"] = _clean_note(note)
        case = _case(case_id, actor, lock=lock)
        _require_change(case, actor, at)
        chosen["criterion"] = _criterion(case, criterion_code)
        return case

    def record(case: Case, document: Document) -> EvidenceLink:
        link = _add_link(case, document, chosen["criterion"], chosen["note"], actor, at)
        events.publish(trail.evidence_added(document, link, actor=actor))
        return link

    return keep_file(
        upload, filename=filename, size=size, actor=actor, now=at, check=check, record=record
    )


def keep_file(
    upload: BinaryIO,
    *,
    filename: str,
    size: int,
    actor: User,
    now: datetime,
    check: Callable[[bool], Case],
    record: Callable[[Case, Document], T],
    accept: Callable[[sniff.FileKind, str], None] | None = None,
    made: sniff.FileKind | None = None,
) -> T:
    """Keep one file of a case in the store with its `Document` row; every caller that puts a
    file in the store comes through here, so that the order that keeps store and database
    consistent is written once.

    `check(lock)` is the caller's rules: run before the file is stored, and again inside the
    transaction on the locked case (it returns the case); a file the upload handler streamed
    to the store as it arrived is checked only there (the view asked before the body).
    `accept(kind, name)` may refuse a type the caller does not take. `record(case, document)`
    writes the caller's own rows and audit entry in the same transaction. Any refusal after
    the file was stored deletes it.
    `made`: the kind of a file the product wrote itself (a generated report), which is not
    judged as an upload is.
    """
    stored: Stored | None = getattr(upload, "stored", None)
    store: Storage = getattr(upload, "store", None) or get_storage()
    if stored is not None:
        upload.claimed = True  # type: ignore[attr-defined]
    try:
        name = clean_filename(filename)
        if stored is None:
            case = check(False)
            kind = made or check_file(upload, name, size)
            if accept is not None:
                accept(kind, name)
            stored = _put(store, case, upload, size, kind)
        else:
            kind = upload.kind  # type: ignore[attr-defined]
            if accept is not None:
                accept(kind, name)
        with transaction.atomic(durable=True):
            case = check(True)
            document = Document(
                case=case,
                storage_key=stored.key,
                version_id=stored.version_id,
                sha256=stored.sha256,
                size=stored.size,
                content_type=kind.mime,
                kind=kind.code,
                filename=name,
                uploaded_by=actor,
                uploaded_at=now,
            )
            bulk.create([document])  # its INSERT written once per process, not compiled per row
            return record(case, document)
    except BaseException:
        if stored is not None:
            _discard(store, stored)
        raise


def _put(store: Storage, case: Case, upload: BinaryIO, size: int, kind: sniff.FileKind) -> Stored:
    """Stream a checked file to the store, outside any transaction."""
    try:
        return store.put(new_key(case.pk), upload, size, kind.mime)
    except StorageError as exc:
        logger.warning("Evidence upload to the store failed: %s", exc)
        raise StoreUnavailable(
            _(
                "The evidence store cannot be reached right now. Nothing was saved; try again in a few minutes."
            )
        ) from exc


def _discard(store: Storage, stored: Stored) -> None:
    """Remove an object whose row could not be written (no object without its row)."""
    try:
        store.delete(stored.key, stored.version_id)
    except StorageError:
        logger.error(
            "Evidence object %s has no row and could not be deleted; evidence_check --repair "
            "will remove it.",
            stored.key,
        )


def link_document(
    case_id: int,
    document_id: int,
    criterion_code: str,
    *,
    actor: User,
    note: str = "",
    now: datetime | None = None,
) -> EvidenceLink:
    """Attach a document already uploaded to this case to another criterion (no re-upload)."""
    now = now or timezone.now()
    note = _clean_note(note)
    with transaction.atomic(durable=True):
        case = _case(case_id, actor, lock=True)
        _require_change(case, actor, now)
        criterion = _criterion(case, criterion_code)
        try:
            document = Document.objects.get(case=case, pk=document_id)
        except Document.DoesNotExist:
            raise InvalidInput(
                _("Document %(id)s is not evidence of this case.") % {"id": document_id}
            ) from None
        if document.integrity != Document.Integrity.OK:
            raise InvalidInput(
                _("“%(name)s” is missing or altered in the store; upload it again.")
                % {"name": document.filename}
            )
        if EvidenceLink.objects.filter(
            document=document, criterion=criterion, withdrawn_at__isnull=True
        ).exists():
            raise Conflict(
                _("“%(name)s” is already evidence of criterion %(code)s.")
                % {"name": document.filename, "code": criterion.code}
            )
        link = _add_link(case, document, criterion, note, actor, now)
        events.publish(trail.evidence_linked(link, actor=actor))
    return link


def withdraw_link(
    link_id: int, *, actor: User, reason: str = "", now: datetime | None = None
) -> EvidenceLink:
    """Withdraw one version of a criterion's evidence (self-scoring only; the file stays)."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        case_id = EvidenceLink.objects.filter(pk=link_id).values_list("case_id", flat=True)
        if not case_id:
            raise NotFound(_("This evidence does not exist or you may not see it."))
        try:
            case = _case(case_id[0], actor, lock=True)
        except NotFound:
            raise NotFound(_("This evidence does not exist or you may not see it.")) from None
        _require_change(case, actor, now, withdraw=True)
        link = (
            EvidenceLink.objects.select_for_update(of=("self",))
            .select_related("document", "criterion")
            .get(pk=link_id)
        )
        if link.withdrawn_at is not None:
            raise Conflict(_("This evidence was already withdrawn."))
        link.withdrawn_at, link.withdrawn_by = now, actor
        link.withdraw_reason = " ".join(reason.split())
        link.save(update_fields=["withdrawn_at", "withdrawn_by", "withdraw_reason"])
        link.case = case
        events.publish(trail.evidence_withdrawn(link, actor=actor, reason=link.withdraw_reason))
    return link


# --- reading --------------------------------------------------------------------------------


def case_evidence(case: Case, *, current_only: bool = False) -> QuerySet[EvidenceLink]:
    """Every version of every criterion's evidence of the case, in one query."""
    qs = EvidenceLink.objects.filter(case=case).select_related(
        "document", "document__uploaded_by", "criterion", "created_by", "withdrawn_by"
    )
    if current_only:
        qs = qs.filter(withdrawn_at__isnull=True)
    return qs.order_by("criterion__position", "-version")


@dataclass(frozen=True)
class Download:
    document: Document
    url: str | None
    stream: BinaryIO | None


def open_download(document_id: int, *, actor: User) -> Download:
    """A short-lived URL (S3) or an open stream (local) of the file, after the permission
    check; the read is audited."""
    not_found = NotFound(_("This evidence does not exist or you may not see it."))
    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        raise not_found
    try:
        case = _case(document.case_id, actor)
    except NotFound:
        raise not_found from None
    if document.integrity != Document.Integrity.OK:
        raise Gone(
            _("The file “%(name)s” is missing or altered in the store.")
            % {"name": document.filename}
        )
    store = get_storage()
    url = store.download_url(
        document.storage_key,
        document.version_id,
        filename=document.filename,
        content_type=document.content_type,
    )
    stream = None
    if url is None:
        try:
            stream = store.open(document.storage_key, document.version_id)
        except StorageError as exc:
            logger.warning("Evidence %s cannot be read: %s", document.pk, exc)
            raise StoreUnavailable(
                _("The evidence store cannot be reached right now. Try again in a few minutes.")
            ) from exc
    with transaction.atomic():
        trail.evidence_downloaded(document, actor=actor, case=case)
    return Download(document, url, stream)


# --- the submit guard and the snapshot ------------------------------------------------------


def evidence_or_explanation(case: Case, now: datetime, params: dict[str, Any]) -> list[str]:
    """A criterion that requires evidence has a current version of it, or — where the
    cycle lets text stand in for a document — a written explanation of how the score was
    reached. Bonus/penalty claims need it only
    when points are claimed; survey criteria never. Reads the score rows and the current
    evidence the snapshot reads too."""
    backed = backed_criteria(case)
    text_may_stand_in = case.cycle.explanation_may_replace_evidence
    message = (
        _(
            "Criterion %(code)s requires evidence: attach a document or explain how the score was reached."
        )
        if text_may_stand_in
        else _("Criterion %(code)s requires evidence: attach a document.")
    )
    return [
        message % {"code": score.criterion.code}
        for score in case.snapshot_rows()
        if score.criterion.evidence_required
        and not score.not_applicable
        and (score.evidence_explanation == "" or not text_may_stand_in)
        and score.criterion.method != Method.SURVEY
        and (
            score.criterion.method not in BONUS_PENALTY
            or (score.self_score is not None and score.self_score > 0)
        )
        and score.criterion.pk not in backed
    ]


_BACKED = "_backed_criteria"


def backed_criteria(case: Case) -> set[int]:
    """The criteria with a current version whose document is intact: evidence the submit
    guard accepts. Read with the current versions, unless a page that read every version
    already said (`know_backed`)."""
    known: set[int] | None = case.__dict__.get(_BACKED)
    if known is None:
        known = {
            link.criterion_id
            for link in current_evidence(case)
            if link.document.integrity == Document.Integrity.OK
        }
    return known


def know_backed(case: Case, criteria: set[int]) -> None:
    """`backed_criteria` from a page that read every version (the score sheet): the guard,
    run dry for the page's checklist, then reads no evidence again."""
    case.__dict__[_BACKED] = criteria


# What the submit guard and the snapshot read of a current version: its criterion and its
# document. Not the people who uploaded or linked it, whom neither names: their two joins
# made most of the CPU of the query the score sheet runs for its checklist on every load.
_CURRENT_WITH = ("document", "criterion")


def _current_of(cases: Q) -> QuerySet[EvidenceLink]:
    return (
        EvidenceLink.objects.filter(cases, withdrawn_at__isnull=True)
        .select_related(*_CURRENT_WITH)
        .order_by("case_id", "criterion__position", "-version")
    )


# One case's: every transition that snapshots reads it, compiled once (`cases.compiled`).
_CURRENT_OF_ONE: Compiled[EvidenceLink] = Compiled(
    lambda _key, case: _current_of(Q(case__in=[case]))
)


def current_evidence(case: Case) -> list[EvidenceLink]:
    """The case's current evidence versions, loaded once per case instance (a transition's
    guard and its snapshot share the query; the instance lives for one transaction)."""
    preload_current_evidence([case])
    return case.__dict__["_current_evidence"]


def preload_current_evidence(cases: Sequence[Case]) -> None:
    """`current_evidence` of many cases in one query (the sweep snapshots a batch)."""
    todo = {case.pk: case for case in cases if "_current_evidence" not in case.__dict__}
    if not todo:
        return
    links: dict[int, list[EvidenceLink]] = {pk: [] for pk in todo}
    found = (
        _CURRENT_OF_ONE((), next(iter(todo)))  # a submission, a finalisation
        if len(todo) == 1
        else _current_of(Q(case__any=list(todo)))  # a batch of the sweep
    )
    for link in found:
        links[link.case_id].append(link)
    for pk, case in todo.items():
        case.__dict__["_current_evidence"] = links[pk]


def snapshot_part(case: Case) -> list[dict[str, Any]]:
    """The evidence versions a snapshot's scores rely on (joins the submit/finalise snapshot)."""
    return [
        {
            "criterion": link.criterion.code,
            "version": link.version,
            "note": link.note,
            "document": link.document_id,
            "filename": link.document.filename,
            "sha256": link.document.sha256,
            "size": link.document.size,
        }
        for link in current_evidence(case)
    ]


def appraisal_column(case: Case, scores: list[Any]) -> dict[int, list[dict[str, Any]]]:
    """The current evidence of each criterion, for the appraiser's side-by-side view: one query
    for the whole case, keyed by score id as `workflow.appraisal` expects."""
    score_of = {score.criterion_id: score.pk for score in scores}
    column: dict[int, list[dict[str, Any]]] = {}
    for link in case_evidence(case, current_only=True):
        if link.criterion_id in score_of:
            column.setdefault(score_of[link.criterion_id], []).append(
                {
                    "id": link.document_id,
                    "version": link.version,
                    "filename": link.document.filename,
                    "size": link.document.size,
                    "sha256": link.document.sha256,
                    "note": link.note,
                    "download": f"/api/v1/evidence/{link.document_id}/download/",
                }
            )
    return column


# --- freezing in the store ------------------------------------------------------------------


def on_workflow_event(entry: AuditEntry) -> None:
    """After-commit subscriber: lock the case's objects once a freezing transition commits.

    Never raises (the transition has committed; the user must not see an error for it). A
    failure is logged, and `evidence_check --repair` applies the retention later.
    """
    try:
        if entry.action not in FREEZING_ACTIONS or entry.case_id is None:
            return
        retain_case_evidence(entry.case_id)
    except Exception:
        logger.exception(
            "Could not lock the evidence of a frozen case in the store (audit entry %s); "
            "evidence_check --repair will apply the retention.",
            entry.pk,
        )


def retention_until(now: datetime | None = None) -> datetime:
    moment = (now or timezone.now()).replace(microsecond=0)
    return moment + timedelta(days=settings.EVIDENCE_RETENTION_DAYS)


def retain_case_evidence(case_id: int, *, now: datetime | None = None) -> int:
    """Give every not-yet-locked object of the case a governance retention; returns how many."""
    store = get_storage()
    if not store.retention_supported():
        return 0
    until = retention_until(now)
    pending = Document.objects.filter(
        case_id=case_id, retained_until__isnull=True, integrity=Document.Integrity.OK
    ).order_by("pk")
    done: list[int] = []
    try:
        for document in pending:
            store.retain(document.storage_key, document.version_id, until)
            Document.objects.filter(pk=document.pk).update(retained_until=until)
            done.append(document.pk)
    finally:
        if done:
            with transaction.atomic():
                case = Case.objects.select_related("cycle").get(pk=case_id)
                trail.evidence_retained(
                    case, actor=permissions.system_user(), documents=done, until=until
                )
    return len(done)
