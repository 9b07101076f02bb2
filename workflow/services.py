"""The only writers of case state, scores and clarifications.

Every function here follows one skeleton: an atomic block; the case re-read with
`select_for_update()`; the permission checked (404 / 403 through `cases.permissions`); the
state and guards checked; the change made; the audit entry written in the same transaction;
side effects queued with `transaction.on_commit` through `workflow.events`. A refusal raises
a `DomainError` with the reason and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_fsm import ConcurrentTransition

from cases import bulk, permissions
from cases.batches import chunks, in_batches
from cases.compiled import Compiled
from cases.errors import (
    Conflict,
    DomainError,
    GuardFailed,
    InvalidInput,
    NotAllowed,
    NotFound,
    WrongState,
)
from cases.models import Appraisal, Case, Criterion, Cycle, Score, Unit
from cases.scoring import (
    TypedNumber,
    appraisal_needs_reason,
    check_points,
    fmt,
    resolve_self_score,
    to_decimal,
)
from cases.users import User
from deadlines import policy
from deadlines.calendar import end_of_day, last_day
from workflow import audit, events, rules
from workflow.models import AuditEntry, Clarification
from workflow.transitions import (
    NOT_SELF_SCORED,
    TRANSITIONS,
    Spec,
    open_questions,
    read_open_questions,
)

log = logging.getLogger(__name__)


def _locked_case(case_id: int, user: User, perm: str) -> Case:
    """Lock the case row for this transaction, after the permission check."""
    return permissions.get_case_for_user(user, case_id, perm, _locking_query)


def state_label(state: str) -> str:
    return str(Case.State(state).label)


def _wrong_state(case: Case, message: str | None = None) -> WrongState:
    return WrongState(
        message
        or _("Not possible while the case is in the state “%(state)s”.")
        % {"state": state_label(case.state)}
    )


def available_transitions(case: Case, user: User, facts: rules.Facts | None = None) -> list[str]:
    """Transitions this user could try on the case now (the rules; not the data guards)."""
    return rules.transitions_allowed(facts or rules.facts_for(user, case))


def run_transition(
    case_id: int,
    name: str,
    *,
    actor: User,
    comment: str = "",
    now: datetime | None = None,
    params: dict[str, Any] | None = None,
) -> Case:
    """Run one transition of the case's state machine, or refuse it changing nothing."""
    try:
        with transaction.atomic():
            return apply_transition(
                case_id, name, actor=actor, comment=comment, now=now, params=params
            )
    except ConcurrentTransition:
        raise Conflict(
            _("Someone else changed this case at the same moment. Reload and try again.")
        ) from None


def run_transitions(
    case_ids: Iterable[int],
    name: str,
    *,
    actor: User,
    comment: str = "",
    now: datetime | None = None,
    batch: int | None = None,
) -> Iterator[tuple[int, BaseException | None]]:
    """Run one transition on many cases (the sweep at a cutoff): one transaction per `batch`
    cases (the TRANSITION_BATCH setting unless given) in id order, two batches at a time
    where that is possible (`cases.batches`). Yields (case id, None or what refused it)
    once its batch committed, in id order.

    A batch costs a fixed number of statements whatever its size (`_apply_batch`): the
    cases locked in one query, their snapshots read in a few, one UPDATE, one audit INSERT,
    one fan-out of the notifications. A case refused (its state, its guards, a fault in its
    own checks) is left out and the others go on. If a write of the batch fails, the batch
    is rolled back and done again one case at a time, each in a savepoint of its own, so a
    broken case is undone alone.

    Cases are locked in id order, as every sweep does, so two sweeps wait, never deadlock;
    a person's transition on a case of the batch waits for the batch to commit."""
    ids = sorted(case_ids)
    batch = batch or settings.TRANSITION_BATCH

    def run(chunk: Sequence[int]) -> list[tuple[int, BaseException | None]]:
        try:
            with transaction.atomic():
                return _apply_batch(chunk, name, actor=actor, comment=comment, now=now)
        except Exception:
            log.warning(
                "Batch of %s %s failed; done again case by case.", len(chunk), name, exc_info=True
            )
            return _apply_each(chunk, name, actor=actor, comment=comment, now=now)

    for outcomes in in_batches(run, list(chunks(ids, batch))):
        yield from outcomes


def _apply_each(
    ids: Sequence[int], name: str, *, actor: User, comment: str, now: datetime | None
) -> list[tuple[int, BaseException | None]]:
    outcomes: list[tuple[int, BaseException | None]] = []
    with transaction.atomic():
        for case_id in ids:
            try:
                with transaction.atomic():
                    apply_transition(case_id, name, actor=actor, comment=comment, now=now)
            except ConcurrentTransition:
                outcomes.append((case_id, Conflict(_("Someone else changed this case."))))
            except Exception as exc:  # the savepoint rolled this case back, only it
                outcomes.append((case_id, exc))
            else:
                outcomes.append((case_id, None))
    return outcomes


def _apply_batch(
    ids: Sequence[int], name: str, *, actor: User, comment: str, now: datetime | None
) -> list[tuple[int, BaseException | None]]:
    """`apply_transition` on many cases in the caller's transaction, with every guarantee
    (lock, permission, rules, guards, snapshot with its hash, audit entry in each case's
    chain, events) and a fixed number of statements."""
    spec = TRANSITIONS.get(name)
    if spec is None:
        raise NotFound(_("There is no step called “%(name)s”.") % {"name": name})
    now = now or timezone.now()
    refused: dict[int, BaseException] = {}
    loaded = []
    batch_query = _locking_query(related=("unit",))
    for case_id, found in permissions.cases_for_user(actor, ids, spec.perm, batch_query):
        if isinstance(found, DomainError):
            refused[case_id] = found
        else:
            loaded.append(found)
    _share_cycles(loaded)
    if spec.snapshot:
        audit.preload_snapshots(loaded)
    in_batch = _AFTER_IN_BATCH.get(name)
    if in_batch is not None:
        in_batch.read(loaded)
    after = _AFTER.get(name) if in_batch is None else None
    moved: list[tuple[Case, AuditEntry]] = []
    for case in loaded:
        try:
            if after is None:
                moved.append(
                    (case, _transition_in_memory(case, spec, actor, comment, now, in_batch))
                )
            else:
                with transaction.atomic():  # its follow-up writes are undone with it
                    moved.append((case, _transition_in_memory(case, spec, actor, comment, now)))
        except Exception as exc:
            refused[case.pk] = exc
    if moved and in_batch is not None:
        in_batch.write([case for case, _entry in moved])
    if moved:
        # One UPDATE per set of new values: one for the sweep's transitions, which give every
        # case of a batch the same state, flags and times.
        changes: dict[tuple[tuple[str, Any], ...], list[int]] = {}
        stamp = timezone.now()
        for case, _entry in moved:
            case.updated_at = stamp
            values = tuple(
                (column, getattr(case, column)) for column in sorted(case.__dict__.pop(_CHANGED))
            )
            changes.setdefault(values, []).append(case.pk)
        for values, pks in changes.items():
            Case.objects.filter(pk__any=set(pks)).update(**dict(values), updated_at=stamp)
        entries = [entry for _, entry in moved]
        audit.append_locked(entries)
        events.publish_many(entries)
    return [(case_id, refused.get(case_id)) for case_id in ids]


_CHANGED = "_changed_fields"


def _locking_query(*, related: tuple[str, ...] = ("cycle", "unit")) -> QuerySet[Case]:
    """Cases locked with what a change's rules and its audit entry read besides the case:
    the self-assessment date and the head of the case's audit chain (one transition, a
    batch of them, a score save), and the `related` rows."""
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related(*related)
        .annotate(**{policy.SELF_DUE: policy.self_due_sql(), **audit.case_head()})
    )


def _share_cycles(cases: list[Case]) -> None:
    """Give the cases of a batch their cycles, read once: they share one or a few, which
    the locking query would build, their settings decoded, once per case (bench/sweep.py)."""
    cycles = Cycle.objects.in_bulk({case.cycle_id for case in cases})
    for case in cases:
        _CASE_CYCLE.set_cached_value(case, cycles[case.cycle_id])


_CASE_CYCLE = Case.cycle.field


def _move(case: Case, spec: Spec, actor: User, now: datetime, params: dict[str, Any]) -> str:
    """The rules, the guards and the state change on the (locked) instance, shared by one
    transition and a batch of them; returns the state the case left."""
    rules.enforce(
        rules.transition(spec.name)(rules.facts_for(actor, case, now, codes=(spec.perm,)))
    )
    reasons = [reason for guard in spec.guards for reason in guard(case, now, params)]
    if reasons:
        raise GuardFailed(_("This step cannot be done yet."), reasons)
    source = case.state
    getattr(case, spec.name)()
    _TIMESTAMPS.get(spec.name, lambda c, n: None)(case, now)
    return source


def _columns(case: Case) -> dict[str, Any]:
    return {field.attname: getattr(case, field.attname) for field in Case._meta.concrete_fields}


def _changed(case: Case, before: dict[str, Any]) -> list[str]:
    """The columns a step changed on the instance (its time of change aside)."""
    return [
        column
        for column, value in before.items()
        if getattr(case, column) != value and column != "updated_at"
    ]


def _step_update(case: Case, source: str, changed: list[str]) -> bulk.Update:
    """The UPDATE of the columns the step changed (the row is locked: the others are as
    read), by a statement written once, not compiled by the ORM for every transition; on the
    condition django-fsm's save puts (ConcurrentTransitionMixin): the row is still in
    `source`. Sent with the step's audit entry (`_saved`)."""
    return bulk.pending_update(case, [*changed, "updated_at"], where={"state": source})


def _saved(case: Case, step: bulk.Update) -> None:
    """Refuse the step if its UPDATE found the case moved on; else record it as saved."""
    if not step.rowcount:
        raise ConcurrentTransition("The case's state changed since it was read.")
    case._update_initial_state()  # what the mixin's save() records after writing


def _transition_in_memory(
    case: Case,
    spec: Spec,
    actor: User,
    comment: str,
    now: datetime,
    in_batch: _AfterInBatch | None = None,
) -> AuditEntry:
    """One case of a batch: the rules, the guards and the state change on the instance, its
    follow-up writes (`_AFTER`; with `in_batch`, only what its entry says of them: the batch
    writes them together), and its audit entry built (written with the batch's)."""
    name = spec.name
    params: dict[str, Any] = {"comment": comment}
    before = _columns(case)
    source = _move(case, spec, actor, now, params)
    case.__dict__[_CHANGED] = set(_changed(case, before))
    if in_batch is not None:
        data = in_batch.data(case)
    else:
        data = _AFTER.get(name, lambda c, n, p: {})(case, now, params)
    return audit.case_transition_entry(
        case,
        name=name,
        actor=actor,
        source=source,
        comment=comment,
        data=data,
        snapshot=spec.snapshot,
    )


def apply_transition(
    case_id: int,
    name: str,
    *,
    actor: User,
    comment: str = "",
    now: datetime | None = None,
    params: dict[str, Any] | None = None,
) -> Case:
    """The transition skeleton, inside the caller's transaction (publish_cycle runs many)."""
    spec = TRANSITIONS.get(name)
    if spec is None:
        raise NotFound(_("There is no step called “%(name)s”.") % {"name": name})
    now = now or timezone.now()
    params = {**(params or {}), "comment": comment}
    case = _locked_case(case_id, actor, spec.perm)
    before = _columns(case)
    source = _move(case, spec, actor, now, params)
    step = _step_update(case, source, _changed(case, before))
    data = _AFTER.get(name, lambda c, n, p: {})(case, now, params)
    data.update({k: v for k, v in params.items() if k not in ("comment",)})
    entry = audit.case_transition(
        case,
        name=name,
        actor=actor,
        source=source,
        comment=comment,
        data=data,
        snapshot=spec.snapshot,
        case_locked=True,
        along=step,
    )
    _saved(case, step)
    events.publish(entry)
    return case


def _stamp(field: str) -> Any:
    def set_time(case: Case, now: datetime) -> None:
        setattr(case, field, now)

    return set_time


_TIMESTAMPS = {
    "submit": _stamp("submitted_at"),
    "lock_at_cutoff": _stamp("submitted_at"),
    "finalise": _stamp("finalised_at"),
    "publish": _stamp("published_at"),
}


def _send_questions(case: Case, now: datetime, params: dict[str, Any]) -> dict[str, Any]:
    """Fix the answer date of the questions sent with this request (N working days)."""
    due_day = policy.explanation_due(case, now)
    due_at = end_of_day(due_day)
    sent = Clarification.objects.filter(
        case=case, status=Clarification.Status.OPEN, due_at__isnull=True
    ).update(due_at=due_at)
    return {"questions": sent, "due_date": due_day.isoformat()}


def _expire_questions(case: Case, now: datetime, params: dict[str, Any]) -> dict[str, Any]:
    _expire_read_questions([case])
    return _expired(case)


_AFTER = {"request_explanation": _send_questions, "expire_explanation": _expire_questions}


@dataclass(frozen=True)
class _AfterInBatch:
    """A follow-up (`_AFTER`) done for a whole batch of the sweep: what its guards and it
    read, read for every case in one query (`read`, before the guards), what each case's
    entry says (`data`), and its writes for the cases moved, in one statement (`write`):
    a query, an UPDATE and a savepoint for each case were more than half the statements of
    a first sweep (bench/sweep.py). If the write fails, the batch is done again case by
    case (`run_transitions`)."""

    read: Callable[[list[Case]], None]
    data: Callable[[Case], dict[str, Any]]
    write: Callable[[list[Case]], None]


def _questions_read(case: Case) -> list[int]:
    return [pk for pk, _due_at in open_questions(case)]


def _expired(case: Case) -> dict[str, Any]:
    """What the entry of an expiry says of the questions it expired."""
    return {"expired_questions": _questions_read(case)}


def _expire_read_questions(cases: list[Case]) -> None:
    ids = [pk for case in cases for pk in _questions_read(case)]
    if ids:
        Clarification.objects.filter(pk__any=set(ids), status=Clarification.Status.OPEN).update(
            status=Clarification.Status.EXPIRED
        )


_AFTER_IN_BATCH = {
    "expire_explanation": _AfterInBatch(
        read_open_questions,
        _expired,
        _expire_read_questions,
    )
}


def _leaf(case: Case, code: str) -> Criterion:
    try:
        return Criterion.objects.leaves_of(case).select_related("area").get(code=code)
    except Criterion.DoesNotExist:
        raise _not_a_leaf(code) from None


def _not_a_leaf(code: str) -> InvalidInput:
    return InvalidInput(
        _("Criterion %(code)s is not a scored criterion of this case's framework.") % {"code": code}
    )


def _locked_score(case: Case, criterion: Criterion, version: int | None) -> Score:
    score = Score.objects.select_for_update().get(case=case, criterion=criterion)
    _check_version(score, criterion, version)
    score.case = case
    score.criterion = criterion
    return score


# A score save's second read, compiled once (`cases.compiled`): the case stands in by its ids.
_LEAF_SCORE: Compiled[Score] = Compiled(
    lambda _key, case, cycle, group, code: (
        Score.objects.of_leaf(Case(pk=case, cycle_id=cycle, unit=Unit(group_id=group)), code)
        .select_for_update(of=("self",))
        .select_related("criterion", "criterion__area")
    )
)


def _locked_leaf_score(case: Case, code: str, version: int | None) -> Score:
    """The score row of the case's leaf `code`, locked, with its criterion and area: what
    `_leaf` then `_locked_score` read, in one query (a save is the day's commonest write)."""
    found = _LEAF_SCORE((), case.pk, case.cycle_id, case.unit.group_id, code)
    if not found:
        raise _not_a_leaf(code)
    score = found[0]
    _check_version(score, score.criterion, version)
    score.case = case
    return score


def _check_version(score: Score, criterion: Criterion, version: int | None) -> None:
    """Optimistic concurrency: the version the form was drawn with must still be current."""
    if version is not None and version != score.version:
        raise Conflict(
            _("Criterion %(code)s was changed by someone else meanwhile. Reload and try again.")
            % {"code": criterion.code}
        )


class NotGiven(Enum):
    """A field a change leaves out: the score keeps what it has."""

    NOT_GIVEN = "not given"


NOT_GIVEN: Final = NotGiven.NOT_GIVEN


@dataclass(frozen=True)
class SelfScoreChange:
    """What a unit changes on a leaf, as the edge read it (the API's `ScoreInput`, the score
    sheet's form). A field NOT_GIVEN keeps its value; no points and no figure keep the score.
    The points and the figure are as the user typed them ("7,5" included): the scoring rules
    read them and word a refusal with the criterion's code (`resolve_self_score`)."""

    self_score: TypedNumber | None = None
    value: TypedNumber | None = None
    not_applicable: bool | NotGiven = NOT_GIVEN
    not_applicable_reason: str | NotGiven = NOT_GIVEN
    note: str | NotGiven = NOT_GIVEN
    evidence_explanation: str | NotGiven = NOT_GIVEN
    version: int | None = None


@dataclass(frozen=True)
class AppraisedScoreChange:
    """An appraiser's score of a leaf with the comment, as the edge read it; the score as the
    appraiser typed it, read by `cases.scoring` like the unit's."""

    appraised_score: TypedNumber | None = None
    comment: str = ""
    not_applicable: bool = False
    version: int | None = None


def _text(given: str | NotGiven, current: str) -> str:
    return (current if isinstance(given, NotGiven) else given).strip()


# What a unit's save may change on its (locked) score row: written alone, in a statement
# written once, rather than every column by a statement the ORM compiles each time.
_SELF_SCORE_FIELDS = (
    "self_score",
    "value",
    "not_applicable",
    "not_applicable_reason",
    "note",
    "evidence_explanation",
    "version",
    "updated_at",
)


def set_self_score(
    case_id: int,
    criterion_code: str,
    *,
    actor: User,
    change: SelfScoreChange,
    now: datetime | None = None,
) -> Score:
    """The unit enters or changes a self score, a note, not-applicable or an explanation."""
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked_case(case_id, actor, "edit_self_score")
        due = policy.self_assessment_due(case) if case.state == Case.State.SELF_SCORING else None
        facts = rules.facts_for(actor, case, now, codes=("edit_self_score",), self_due=due)
        rules.enforce(rules.edit_self_score(facts))
        score = _locked_leaf_score(case, criterion_code, change.version)
        criterion = score.criterion
        before = audit.score_fields(score)
        not_applicable = (
            score.not_applicable
            if isinstance(change.not_applicable, NotGiven)
            else change.not_applicable
        )
        if not_applicable:
            if criterion.is_survey:
                raise InvalidInput(
                    _(
                        "Criterion %(code)s is scored by the survey: the unit cannot mark it "
                        "not applicable."
                    )
                    % {"code": criterion.code}
                )
            if not _not_applicable_allowed(criterion):
                raise InvalidInput(
                    _("Criterion %(code)s cannot be marked not applicable.")
                    % {"code": criterion.code}
                )
            reason = _text(change.not_applicable_reason, score.not_applicable_reason)
            if not reason:
                raise InvalidInput(
                    _("Criterion %(code)s: give the reason it does not apply.")
                    % {"code": criterion.code}
                )
            score.not_applicable, score.not_applicable_reason = True, reason
            score.self_score = score.value = None
        else:
            if change.self_score is not None or change.value is not None:
                score.self_score, score.value = resolve_self_score(
                    criterion, points=change.self_score, value=change.value
                )
            elif (
                score.self_score is None
                and isinstance(change.note, NotGiven)
                and isinstance(change.evidence_explanation, NotGiven)
            ):
                resolve_self_score(criterion)  # raises "enter a score"
            score.not_applicable, score.not_applicable_reason = False, ""
        score.note = _text(change.note, score.note)
        score.evidence_explanation = _text(change.evidence_explanation, score.evidence_explanation)
        score.version += 1
        audit.score_changed(
            score,
            actor=actor,
            before=before,
            appraised=False,
            case_locked=True,
            along=bulk.pending_update(score, _SELF_SCORE_FIELDS),
        )
    return score


def _not_applicable_allowed(criterion: Criterion) -> bool:
    return bool(criterion.not_applicable_allowed)


def _appraisable_leaf(case: Case, code: str, *, actor: User, now: datetime) -> Criterion:
    """The leaf this appraiser may appraise now, or the rule's refusal."""
    facts = rules.facts_for(actor, case, now, codes=("appraise_case",))
    rules.enforce(rules.appraise(facts))
    criterion = _leaf(case, code)
    rules.enforce(
        rules.appraise_criterion(
            facts,
            code=criterion.code,
            area=criterion.area_code,
            survey=criterion.is_survey,
            open_question=case.state == Case.State.EXPLANATION
            and Clarification.objects.filter(
                case=case, criterion=criterion, status=Clarification.Status.OPEN
            ).exists(),
        )
    )
    return criterion


def set_appraised_score(
    case_id: int,
    criterion_code: str,
    *,
    actor: User,
    change: AppraisedScoreChange,
    now: datetime | None = None,
) -> Score:
    """An appraiser scores a leaf of their area in the current round, with a comment."""
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked_case(case_id, actor, "appraise_case")
        criterion = _appraisable_leaf(case, criterion_code, actor=actor, now=now)
        score = _locked_score(case, criterion, change.version)
        before = audit.score_fields(score)
        comment = change.comment.strip()
        if _unchanged(score, change, comment):
            return score
        claimed = score.not_applicable or score.not_applicable_decision == "rejected"
        if change.not_applicable:
            if not _not_applicable_allowed(criterion):
                raise InvalidInput(
                    _("Criterion %(code)s cannot be marked not applicable.")
                    % {"code": criterion.code}
                )
            if not (comment or score.not_applicable_reason):
                raise InvalidInput(
                    _("Criterion %(code)s: give the reason it does not apply.")
                    % {"code": criterion.code}
                )
            score.not_applicable = True
            score.not_applicable_reason = score.not_applicable_reason or comment
            score.not_applicable_decision = "confirmed" if claimed else ""
            points = None
        else:
            points = check_points(
                criterion, to_decimal(change.appraised_score, criterion, _("the score"))
            )
            late = policy.late_penalty(case, criterion)
            proposed = late.points if late is not None else None
            if late is not None and points == proposed and not comment:
                # The dates' proposal needs no reason typed: the reason is the count.
                comment = late_penalty_reason(late)
            if appraisal_needs_reason(points, score.self_score, proposed) and not comment:
                raise InvalidInput(
                    _(
                        "Criterion %(code)s: the appraised score differs from the self score; "
                        "give the reason in the comment."
                    )
                    % {"code": criterion.code}
                )
            if claimed:
                # Scoring a leaf the unit declared not applicable rejects that claim.
                score.not_applicable_decision = "rejected"
            score.not_applicable = False
        _record_appraisal(case, score, points, comment, actor=actor, now=now, before=before)
    return score


def late_penalty_reason(late: policy.LatePenalty) -> str:
    return ngettext(
        "Received %(days)s working day late × %(per_day)s points.",
        "Received %(days)s working days late × %(per_day)s points.",
        late.days,
    ) % {"days": late.days, "per_day": fmt(late.per_day)}


def _unchanged(score: Score, change: AppraisedScoreChange, comment: str) -> bool:
    """A save of an already appraised leaf that changes nothing (an untouched box sent
    again) records nothing: it must not count as a new appraisal or a change."""
    if score.appraised_round is None or comment != score.appraised_comment:
        return False
    if change.not_applicable:
        return score.not_applicable
    try:
        points = to_decimal(change.appraised_score, score.criterion, _("the score"))
    except InvalidInput:
        return False
    return not score.not_applicable and points == score.appraised_score


def _record_appraisal(
    case: Case,
    score: Score,
    points: Any,
    comment: str,
    *,
    actor: User,
    now: datetime,
    before: dict[str, Any],
) -> None:
    """Write the appraised fields, the round's Appraisal row and the audit entry."""
    score.appraised_score = points
    score.appraised_comment = comment
    score.appraised_round = case.appraisal_round
    score.appraised_by = actor
    score.appraised_at = now
    score.version += 1
    score.save()
    Appraisal.objects.update_or_create(
        score=score,
        round=case.appraisal_round,
        defaults={
            "appraised_score": points,
            "not_applicable": points is None,
            "comment": comment,
            "appraiser": actor,
            "at": now,
        },
    )
    audit.score_changed(
        score, actor=actor, before=before, appraised=True, comment=comment, case_locked=True
    )


def decide_not_applicable(
    case_id: int,
    criterion_code: str,
    *,
    actor: User,
    confirm: bool,
    reason: str = "",
    appraised_score: TypedNumber | None = None,
    version: int | None = None,
    now: datetime | None = None,
) -> Score:
    """The appraiser confirms the unit's "not applicable" on a leaf, or rejects it with the
    reason and the points the leaf gets instead (it then counts in the maximum again)."""
    now = now or timezone.now()
    reason = reason.strip()
    with transaction.atomic():
        case = _locked_case(case_id, actor, "appraise_case")
        criterion = _appraisable_leaf(case, criterion_code, actor=actor, now=now)
        score = _locked_score(case, criterion, version)
        if not (score.not_applicable or score.not_applicable_decision):
            raise InvalidInput(
                _("The unit did not declare criterion %(code)s not applicable.")
                % {"code": criterion.code}
            )
        before = audit.score_fields(score)
        if confirm:
            score.not_applicable = True
            score.not_applicable_decision = "confirmed"
            points = None
        else:
            if not reason:
                raise InvalidInput(
                    _(
                        "Criterion %(code)s: give the reason the unit's “not applicable” "
                        "is rejected."
                    )
                    % {"code": criterion.code}
                )
            if appraised_score in (None, ""):
                raise InvalidInput(
                    _("Criterion %(code)s: enter the appraised score it gets instead.")
                    % {"code": criterion.code}
                )
            points = check_points(criterion, to_decimal(appraised_score, criterion, _("the score")))
            score.not_applicable = False
            score.not_applicable_decision = "rejected"
        _record_appraisal(case, score, points, reason, actor=actor, now=now, before=before)
    return score


def ask_clarification(
    case_id: int,
    criterion_code: str,
    question: str,
    *,
    actor: User,
    now: datetime | None = None,
) -> Clarification:
    """An appraiser asks the unit to explain a criterion (sent with request_explanation)."""
    now = now or timezone.now()
    question = (question or "").strip()
    with transaction.atomic():
        case = _locked_case(case_id, actor, "ask_clarification")
        facts = rules.facts_for(actor, case, now, codes=("ask_clarification", "appraise_case"))
        rules.enforce(rules.ask(facts))
        criterion = _leaf(case, criterion_code)
        rules.enforce(
            rules.ask_criterion(
                facts, code=criterion.code, area=criterion.area_code, survey=criterion.is_survey
            )
        )
        if not question:
            raise InvalidInput(_("Write the question."))
        clarification = Clarification.objects.create(
            case=case,
            criterion=criterion,
            round=case.appraisal_round,
            question=question,
            asked_by=actor,
            asked_at=now,
        )
        entry = audit.record(
            audit.CLARIFICATION_ASKED,
            actor=actor,
            case=case,
            obj=clarification,
            data={"criterion": criterion.code, "question": question},
            case_locked=True,
        )
        events.publish(entry)
    return clarification


def answer_clarification(
    clarification_id: int, answer: str, *, actor: User, now: datetime | None = None
) -> Clarification:
    """The unit writes (or rewrites) its answer; the head sends all with submit_explanation."""
    now = now or timezone.now()
    answer = (answer or "").strip()
    with transaction.atomic():
        try:
            case_id = Clarification.objects.values_list("case_id", flat=True).get(
                pk=clarification_id
            )
        except Clarification.DoesNotExist:
            raise NotFound(_("This question does not exist or you may not see it.")) from None
        case = _locked_case(case_id, actor, "answer_clarification")
        clarification = (
            Clarification.objects.select_for_update()
            .select_related("criterion")
            .get(pk=clarification_id)
        )
        rules.enforce(
            rules.answer(rules.facts_for(actor, case, now, codes=("answer_clarification",)))
        )
        if clarification.due_at is None:
            raise _wrong_state(
                case,
                _(
                    "Answers can be written only while an explanation is requested; the case is “%(state)s”."
                )
                % {"state": state_label(case.state)},
            )
        if clarification.status == Clarification.Status.EXPIRED:
            raise _wrong_state(case, _("This question expired without an answer."))
        if now >= clarification.due_at:
            raise GuardFailed(
                _("The answer window closed on %(date)s.")
                % {"date": date_format(last_day(clarification.due_at), "d/m/Y")}
            )
        if not answer:
            raise InvalidInput(_("Write the answer."))
        before = {"answer": clarification.answer, "status": clarification.status}
        clarification.answer = answer
        clarification.status = Clarification.Status.ANSWERED
        clarification.answered_by = actor
        clarification.answered_at = now
        clarification.save()
        audit.record(
            audit.CLARIFICATION_ANSWERED,
            actor=actor,
            case=case,
            obj=clarification,
            before=before,
            after={"answer": answer, "status": clarification.status},
            data={"criterion": clarification.criterion.code},
            case_locked=True,
        )
    return clarification


def history(case: Case) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(case=case).select_related("actor").order_by("at", "pk"))


@dataclass
class AreaAgreement:
    """What `agree_with_self_scores` did: the leaves appraised at the unit's own score, and
    those left for the appraiser (code → why)."""

    agreed: list[str] = field(default_factory=list)
    left: dict[str, str] = field(default_factory=dict)


def agree_with_self_scores(
    case_id: int, area_code: str, *, actor: User, now: datetime | None = None
) -> AreaAgreement:
    """The appraiser agrees with the unit's self scores for a whole area in one action.

    Each unappraised leaf of the area is appraised at its self score through
    `set_appraised_score` (recorded, versioned and audited like any appraisal). Leaves that
    need the appraiser's own judgement are left untouched: a "not applicable" to confirm or
    reject, no self score, an open question, or any other refusal of that leaf.
    """
    now = now or timezone.now()
    outcome = AreaAgreement()
    with transaction.atomic():
        case = _locked_case(case_id, actor, "appraise_case")
        facts = rules.facts_for(actor, case, now, codes=("appraise_case",))
        rules.enforce(rules.appraise(facts))
        if facts.areas is not None and area_code not in facts.areas:
            raise NotAllowed(_("Area %(code)s is not assigned to you.") % {"code": area_code})
        scores = [
            s
            for s in Score.objects.filter(
                case=case, appraised_round__isnull=True, criterion__is_leaf=True
            )
            .exclude(criterion__method__in=NOT_SELF_SCORED)
            .select_related("criterion", "criterion__area")
            .order_by("criterion__position")
            if s.criterion.area_code == area_code
        ]
        if not scores and not _area_exists(case, area_code):
            raise InvalidInput(
                _("Area %(code)s is not an area of this case's framework.") % {"code": area_code}
            )
        for score in scores:
            code = score.criterion.code
            if score.not_applicable or score.not_applicable_decision:
                outcome.left[code] = _("the unit declared it not applicable")
                continue
            if score.self_score is None:
                outcome.left[code] = _("no self score")
                continue
            try:
                with transaction.atomic():
                    set_appraised_score(
                        case.pk,
                        code,
                        actor=actor,
                        change=AppraisedScoreChange(appraised_score=score.self_score),
                        now=now,
                    )
            except DomainError as error:
                outcome.left[code] = str(error.message)
                continue
            outcome.agreed.append(code)
    return outcome


def _area_exists(case: Case, area_code: str) -> bool:
    return Criterion.objects.of_case(case).filter(parent__isnull=True, code=area_code).exists()
