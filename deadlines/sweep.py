"""The deadline sweep: automatic transitions and reminders, safe anywhere and any time.

Run by `manage.py sweep_deadlines` (once, or `--loop` in the worker) and, in the embedded
default, by a thread inside the web process (`deadlines.runner`).

Invariants:
- Every automatic transition goes through `workflow.services.run_transitions` as the named
  system user, batches of cases per transaction, each case with its own audit entry and
  snapshot. The service locks the case
  and re-checks state and guards, so when another sweep (or a person) got there first it
  answers WrongState / GuardFailed / Conflict: "someone else did it", skipped quietly.
- A reminder goes to a recipient at most once per occasion. The ReminderLog row (unique on
  key and recipient) is inserted with ON CONFLICT DO NOTHING in the transaction that writes
  the notification; the rows that INSERT wrote (RETURNING) are the ones this run claimed
  and notifies. Rows are inserted in key order, so two sweeps at once wait, never deadlock.
- Only the latest occasion that has come is sent (`policy.current_offset`): a sweep days late
  sends one reminder, and once the deadline passed only the overdue one.
- Work is found set-based: a few queries per kind of work, not per case. Transitions and
  reminders go in batches, each a fixed number of statements whatever its size: the cases
  locked in one query, each audited with its own entry (and snapshot), and one notification
  fan-out per batch (`notify_many`).
"""

from __future__ import annotations

import gc
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from operator import itemgetter
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Count, DateTimeField, Max, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import bulk, permissions
from cases.batches import chunks, in_batches
from cases.errors import Conflict, GuardFailed, WrongState
from cases.models import (
    NOT_SELF_SCORED,
    AppraiserAssignment,
    Case,
    CouncilMember,
    Cycle,
    Membership,
    Score,
)
from deadlines import policy, texts
from deadlines.calendar import is_past, last_day, local_date
from deadlines.models import ReminderLog
from notifications import rules
from notifications.delivery import copier
from notifications.services import Message, notify_many
from workflow.models import Clarification
from workflow.services import run_transitions

log = logging.getLogger(__name__)

BATCH = 500
KEY_CHUNK = 5000
# Answer windows are a few working days: remind the day before and the morning of the day.
EXPLANATION_OFFSETS = (1, 0)

KIND_SELF = rules.SELF_ASSESSMENT_REMINDER
KIND_OVERDUE = rules.OVERDUE_REMINDER
KIND_EXPLANATION = rules.EXPLANATION_REMINDER
KIND_APPRAISAL = rules.APPRAISAL_REMINDER
KIND_LATE_SUMMARY = rules.LATE_SUMMARY
KIND_SURVEY = rules.SURVEY_REMINDER
KIND_SURVEY_OVERDUE = rules.SURVEY_OVERDUE
KIND_REPORT = rules.REPORT_REMINDER
KIND_REPORT_OVERDUE = rules.REPORT_OVERDUE
KIND_PUBLICATION = rules.PUBLICATION_REMINDER
KIND_PUBLICATION_OVERDUE = rules.PUBLICATION_OVERDUE


@dataclass
class Report:
    """What one sweep did; the counts of the second of two sweeps in a row are all zero."""

    locked: int = 0
    expired: int = 0
    started: int = 0
    skipped: int = 0
    failed: int = 0
    notifications: dict[str, int] = field(default_factory=dict)

    @property
    def sent(self) -> int:
        return sum(self.notifications.values())

    def __str__(self) -> str:
        sent = ", ".join(
            f"{k.rsplit('.', 1)[-1]} {v}" for k, v in sorted(self.notifications.items())
        )
        return (
            f"locked {self.locked}, explanations expired {self.expired}, "
            f"appraisals started {self.started}, skipped {self.skipped}"
            + (f", FAILED {self.failed}" if self.failed else "")
            + "; "
            f"notifications {self.sent}" + (f" ({sent})" if sent else "")
        )


@dataclass
class Reminder:
    """One occasion for a few recipients; `texts` renders (vi, en) once it is claimed."""

    key: str
    kind: str
    recipients: list[int]
    texts: Callable[[], tuple[str, str]]
    case_id: int | None = None
    cycle_id: int | None = None
    link: str = ""


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the pass, as it was after.

    A batch holds hundreds of thousands of objects for its length (the score rows of its
    snapshots, its audit entries and notifications): each of them counts towards the next
    collection, so the collector would scan the whole heap again and again while the batch is
    being built, about a third of a sweep that locks a thousand cases (bench/sweep.py).
    Nothing of a batch outlives it, so the cycles it leaves are collected once, after the
    pass."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def sweep(now: datetime | None = None) -> Report:
    """One pass: enforce the cutoffs, then send every reminder whose moment has come."""
    with _collector_paused():
        return _sweep(now)


def _sweep(now: datetime | None) -> Report:
    now = now or timezone.now()
    report = Report()
    system = permissions.system_user()
    run = uuid.uuid4()
    _run_each(_cases_to_lock(now), "lock_at_cutoff", system, now, report, "locked")
    _run_each(_explanations_to_expire(now), "expire_explanation", system, now, report, "expired")
    _run_each(_appraisals_to_start(now), "start_appraisal", system, now, report, "started")
    late = _late_cases(now)
    for build in (
        lambda: _self_assessment_reminders(now),
        lambda: _overdue_reminders(late),
        lambda: _explanation_reminders(now),
        lambda: _appraisal_reminders(now),
        lambda: _late_summaries(late),
        lambda: _cycle_date_reminders(now),
    ):
        by_kind: dict[str, list[Reminder]] = defaultdict(list)
        for reminder in build():
            by_kind[reminder.kind].append(reminder)
        for kind, reminders in by_kind.items():
            sent = _deliver(reminders, now, run)
            if sent:
                report.notifications[kind] = report.notifications.get(kind, 0) + sent
    return report


# --- automatic transitions -----------------------------------------------------------------


def _run_each(
    case_ids: Iterable[int], name: str, system: Any, now: datetime, report: Report, counter: str
) -> None:
    """The transition on every case due, in batches (workflow.services.run_transitions)."""
    for case_id, refused in run_transitions(
        case_ids, name, actor=system, now=now, comment=_("Automatic (deadline)")
    ):
        if refused is None:
            setattr(report, counter, getattr(report, counter) + 1)
        elif isinstance(refused, (WrongState, GuardFailed, Conflict)):
            report.skipped += 1  # another sweep or a person moved the case first
        else:
            # One broken case must not stop the cutoffs and reminders of all the others;
            # its savepoint rolled back and the next pass tries it again.
            log.error(
                "Deadline sweep: %s of case %s failed.",
                name,
                case_id,
                exc_info=(type(refused), refused, refused.__traceback__),
            )
            report.failed += 1


def _open_cases() -> Any:
    return Case.objects.filter(cycle__status=Cycle.Status.OPEN)


def _cases_to_lock(now: datetime) -> list[int]:
    return list(
        _open_cases()
        .filter(state=Case.State.SELF_SCORING)
        .annotate(due=policy.effective_self_due())
        .filter(due__lt=local_date(now))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _explanations_to_expire(now: datetime) -> list[int]:
    window = Subquery(
        Clarification.objects.filter(
            case_id=OuterRef("pk"), round=OuterRef("appraisal_round"), due_at__isnull=False
        )
        .exclude(status=Clarification.Status.EXPIRED)
        .values("case_id")
        .annotate(last=Max("due_at"))
        .values("last"),
        output_field=DateTimeField(),
    )
    return list(
        _open_cases()
        .filter(state=Case.State.EXPLANATION)
        .annotate(window=window)
        .filter(window__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _appraisals_to_start(now: datetime) -> list[int]:
    """Submitted cases whose (extended) self-assessment deadline passed: appraisal is open."""
    return list(
        _open_cases()
        .filter(state=Case.State.SUBMITTED, cycle__auto_start_appraisal=True)
        .annotate(due=policy.effective_self_due())
        .filter(due__lt=local_date(now))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- reminders -----------------------------------------------------------------------------


def _case_links() -> Callable[[int], str]:
    """The link to a case's page (an e-mail is read by a person, not by an API client), from
    one URL lookup: looking it up for each of the thousand reminders of a cutoff took half
    the time of building them. The id is the path's only varying segment."""
    head, sep, tail = reverse("web:case", args=[0]).rpartition("/0/")
    if not sep:  # the page's path changed shape: look each link up
        return lambda case_id: reverse("web:case", args=[case_id])
    return lambda case_id: f"{head}/{case_id}/{tail}"


def _unit_members(unit_ids: Iterable[int]) -> dict[int, list[int]]:
    members: dict[int, list[int]] = defaultdict(list)
    ids = sorted(set(unit_ids))
    for chunk in chunks(ids, KEY_CHUNK):
        for unit_id, user_id in (
            Membership.objects.filter(unit_id__any=set(chunk), user__is_active=True)
            .order_by("unit_id", "user_id")
            .values_list("unit_id", "user_id")
            .distinct()
        ):
            members[unit_id].append(user_id)
    return members


def _self_assessment_reminders(now: datetime) -> list[Reminder]:
    """T-n reminders to the staff and head of units still self-scoring."""
    today = local_date(now)
    rows = list(
        _open_cases()
        .filter(state=Case.State.SELF_SCORING)
        .annotate(due=policy.effective_self_due())
        .filter(due__gte=today)
        .values_list("pk", "unit_id", "unit__name", "due", "cycle__reminder_offsets")
    )
    offsets_of: dict[str, list[int]] = {}
    wanted = []
    for case_id, unit_id, unit_name, due, raw_offsets in rows:
        cache_key = repr(raw_offsets)
        if cache_key not in offsets_of:
            offsets_of[cache_key] = policy.clean_offsets(raw_offsets)
        offsets = offsets_of[cache_key]
        offset = policy.current_offset(due, now, offsets)
        if offset is not None:
            wanted.append((case_id, unit_id, unit_name, due, offset))
    members = _unit_members(w[1] for w in wanted)
    case_link = _case_links()
    return [
        Reminder(
            key=f"self:{case_id}:{due.isoformat()}:T-{offset}",
            kind=KIND_SELF,
            recipients=members[unit_id],
            texts=partial(texts.self_assessment_reminder, unit_name, due, (due - today).days),
            case_id=case_id,
            link=case_link(case_id),
        )
        for case_id, unit_id, unit_name, due, offset in wanted
        if members.get(unit_id)
    ]


# (case, unit, unit code, unit name, cycle, cycle title, missed date, tell the unit?)
LateRow = tuple[int, int, str, str, int, str, date, bool]


def _late_cases(now: datetime) -> list[LateRow]:
    """Cases past their (extended) deadline without an in-time submission, in open cycles.

    Cases locked late (whatever happened to them since) and cases still self-scoring both
    count, so two sweeps that lock different cases at the same moment agree on who is late.
    """
    return list(
        _open_cases()
        .filter(Q(state=Case.State.SELF_SCORING) | Q(is_late=True))
        .annotate(due=policy.effective_self_due())
        .filter(due__lt=local_date(now))
        .order_by("cycle_id", "unit__code")
        .values_list(
            "pk",
            "unit_id",
            "unit__code",
            "unit__name",
            "cycle_id",
            "cycle__title",
            "due",
            "cycle__overdue_reminder",
        )
    )


def _overdue_reminders(late: list[LateRow]) -> list[Reminder]:
    """Once, to the staff and head of a unit whose deadline passed without a submission."""
    rows = [row for row in late if row[7]]
    members = _unit_members(r[1] for r in rows)
    case_link = _case_links()
    return [
        Reminder(
            key=f"overdue:{case_id}:{due.isoformat()}",
            kind=KIND_OVERDUE,
            recipients=members[unit_id],
            texts=partial(texts.overdue_reminder, unit_name, due),
            case_id=case_id,
            link=case_link(case_id),
        )
        for case_id, unit_id, _code, unit_name, _cycle, _title, due, _wanted in rows
        if members.get(unit_id)
    ]


def _late_summaries(late_rows: list[LateRow]) -> list[Reminder]:
    """One summary per cycle and missed date to the secretariat: which units are late."""
    late: dict[tuple[int, date], list[str]] = defaultdict(list)
    titles: dict[int, str] = {}
    for _case, _unit, code, _name, cycle_id, title, due, _unit_told in late_rows:
        late[(cycle_id, due)].append(code)
        titles[cycle_id] = title
    if not late:
        return []
    secretariat = list(
        Group.objects.get(name=permissions.SECRETARIAT)
        .user_set.filter(is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not secretariat:
        return []
    return [
        Reminder(
            key=f"late:{cycle_id}:{due.isoformat()}",
            kind=KIND_LATE_SUMMARY,
            recipients=secretariat,
            texts=partial(texts.late_summary, titles[cycle_id], due, codes),
            cycle_id=cycle_id,
            link=f"{reverse('web:cycle', args=[cycle_id])}?late=1",
        )
        for (cycle_id, due), codes in sorted(late.items())
    ]


def _explanation_reminders(now: datetime) -> list[Reminder]:
    """To units with open questions, the day before and the morning of their answer date."""
    rows = (
        Clarification.objects.filter(
            status=Clarification.Status.OPEN,
            due_at__gt=now,
            case__state=Case.State.EXPLANATION,
            case__cycle__status=Cycle.Status.OPEN,
        )
        .values("case_id", "case__unit_id", "case__unit__name", "due_at")
        .annotate(questions=Count("pk"))
        .order_by("case_id", "due_at")
    )
    wanted = []
    for row in rows:
        assert row["due_at"] is not None  # filtered on due_at__gt
        due = last_day(row["due_at"])
        offset = policy.current_offset(due, now, EXPLANATION_OFFSETS)
        if offset is not None:
            wanted.append((row, due, offset))
    members = _unit_members(row["case__unit_id"] for row, _due, _offset in wanted)
    day = local_date(now)  # the days left the text states
    case_link = _case_links()
    return [
        Reminder(
            key=f"explain:{row['case_id']}:{due.isoformat()}:T-{offset}",
            kind=KIND_EXPLANATION,
            recipients=members[row["case__unit_id"]],
            texts=partial(
                texts.explanation_reminder,
                row["case__unit__name"],
                due,
                row["questions"],
                (due - day).days,
            ),
            case_id=row["case_id"],
            link=case_link(row["case_id"]),
        )
        for row, due, offset in wanted
        if members.get(row["case__unit_id"])
    ]


def _appraisal_reminders(now: datetime) -> list[Reminder]:
    """To each appraiser with unappraised criteria of their areas, before the appraisal due.

    Read for every cycle due at once (who is left to tell, then their work left), not cycle by
    cycle: a few statements whatever the number of cycles."""
    occasions: dict[int, tuple[Cycle, str]] = {}
    for cycle in Cycle.objects.filter(status=Cycle.Status.OPEN).order_by("pk"):
        if is_past(cycle.appraisal_due, now):
            continue
        offset = policy.current_offset(
            cycle.appraisal_due, now, policy.clean_offsets(cycle.reminder_offsets)
        )
        if offset is not None:
            key = f"appraise:{cycle.pk}:{cycle.appraisal_due.isoformat()}:T-{offset}"
            occasions[cycle.pk] = (cycle, key)
    if not occasions:
        return []
    told = set(
        ReminderLog.objects.filter(key__in=[key for _c, key in occasions.values()]).values_list(
            "key", "recipient_id"
        )
    )
    areas: dict[int, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for cycle_id, user_id, area in AppraiserAssignment.objects.filter(
        cycle_id__in=list(occasions), user__is_active=True
    ).values_list("cycle_id", "user_id", "area_code"):
        if (occasions[cycle_id][1], user_id) not in told:
            areas[cycle_id][user_id].add(area)
    if not areas:
        return []  # nobody left to tell: skip counting the scores
    pending = _unappraised_by_area(areas)
    day = local_date(now)  # the days left the text states
    home = reverse("web:home")  # an appraiser's cases are listed on the home page
    reminders = []
    for cycle_id in sorted(areas):
        cycle, key = occasions[cycle_id]
        for user_id in sorted(areas[cycle_id]):
            criteria, cases = pending(cycle_id, user_id)
            if criteria:
                reminders.append(
                    Reminder(
                        key=key,
                        kind=KIND_APPRAISAL,
                        recipients=[user_id],
                        texts=partial(
                            texts.appraisal_reminder,
                            cycle.title,
                            cycle.appraisal_due,
                            criteria,
                            cases,
                            (cycle.appraisal_due - day).days,
                        ),
                        cycle_id=cycle_id,
                        link=home,
                    )
                )
    return reminders


def _cycle_date_reminders(now: datetime) -> list[Reminder]:
    """The dates Sở Nội vụ and the leaders are held to, watched like the units' own: before
    the survey date the secretariat is reminded while survey scores are missing, and told
    once it passed with some still missing; before
    the appraisal report date the secretariat is reminded (how many cases are finalised);
    once it passed with the results not sent for approval, and once the publication target
    passed unpublished, the secretariat and the leaders are told. The leaders are reminded
    of the publication target too."""
    cycles = list(
        Cycle.objects.filter(
            status__in=(Cycle.Status.OPEN, Cycle.Status.RESULTS_SUBMITTED)
        ).order_by("pk")
    )
    if not cycles:
        return []
    counts = {
        row["cycle_id"]: (row["done"], row["n"])
        for row in Case.objects.filter(cycle__in=cycles)
        .values("cycle_id")
        .annotate(n=Count("pk"), done=Count("pk", filter=Q(state=Case.State.FINALISED)))
    }
    survey_missing = policy.survey_missing(
        c.pk for c in cycles if c.survey_due is not None and c.status == Cycle.Status.OPEN
    )
    secretariat = permissions.role_member_ids(permissions.SECRETARIAT)
    everyone = sorted(set(secretariat) | set(permissions.role_member_ids(permissions.LEADER)))
    day = local_date(now)  # the days left the texts state
    reminders: list[Reminder] = []

    def watch(
        cycle: Cycle,
        name: str,
        due: date,
        *,
        overdue: bool,
        remind: bool,
        told: tuple[str, list[int], Any],
        reminded: tuple[str, list[int], Callable[[int], tuple[str, str]]],
        page: str = "cycle",
    ) -> None:
        """One date of the cycle: the overdue notice (`told`: kind, recipients, texts) once
        `overdue`; else, while `remind`, the T-n reminder (`reminded`: texts by days left)."""
        if overdue:
            key, (kind, recipients, said) = f"{name}-overdue:{cycle.pk}:{due.isoformat()}", told
        else:
            offset = policy.current_offset(due, now, offsets) if remind else None
            if offset is None:
                return
            kind, recipients, by_days_left = reminded
            key = f"{name}:{cycle.pk}:{due.isoformat()}:T-{offset}"
            said = partial(by_days_left, (due - day).days)
        if recipients:
            reminders.append(
                Reminder(
                    key=key,
                    kind=kind,
                    recipients=recipients,
                    texts=said,
                    cycle_id=cycle.pk,
                    link=reverse(f"web:{page}", args=[cycle.pk]),
                )
            )

    for cycle in cycles:
        offsets = policy.clean_offsets(cycle.reminder_offsets)
        done, total = counts.get(cycle.pk, (0, 0))
        title, missing = cycle.title, survey_missing.get(cycle.pk, 0)
        if cycle.survey_due is not None and missing:
            due = cycle.survey_due
            watch(
                cycle,
                "survey",
                due,
                overdue=is_past(due, now),
                remind=True,
                told=(
                    KIND_SURVEY_OVERDUE,
                    secretariat,
                    partial(texts.survey_overdue, title, due, missing, total),
                ),
                reminded=(
                    KIND_SURVEY,
                    secretariat,
                    partial(texts.survey_reminder, title, due, missing, total),
                ),
                page="survey",
            )
        due = cycle.appraisal_due
        watch(
            cycle,
            "report",
            due,
            overdue=policy.report_overdue(cycle, now),
            remind=cycle.status == Cycle.Status.OPEN,
            told=(
                KIND_REPORT_OVERDUE,
                everyone,
                partial(texts.report_overdue, title, due, done, total),
            ),
            reminded=(
                KIND_REPORT,
                secretariat,
                partial(texts.report_reminder, title, due, done, total),
            ),
        )
        if cycle.publication_target is not None:
            due = cycle.publication_target
            watch(
                cycle,
                "publication",
                due,
                overdue=policy.publication_overdue(cycle, now),
                remind=True,
                told=(
                    KIND_PUBLICATION_OVERDUE,
                    everyone,
                    partial(texts.publication_overdue, title, due),
                ),
                reminded=(
                    KIND_PUBLICATION,
                    everyone,
                    partial(texts.publication_reminder, title, due),
                ),
            )
    return reminders


def _unappraised_by_area(
    areas: dict[int, dict[int, set[str]]],
) -> Callable[[int, int], tuple[int, int]]:
    """Count, per cycle and appraiser (`areas`: their areas by cycle), the criteria of their
    areas not appraised yet and the cases they are in, leaving out the cases of their own
    units and of the department they represent on the cycle's council (they may not appraise
    those). One query for the scores of all the cycles."""
    by_area: dict[tuple[int, str], list[tuple[int, int, int]]] = defaultdict(list)
    for cycle_id, area, case_id, unit_id, n in (
        Score.objects.filter(
            case__cycle_id__in=list(areas),
            case__state=Case.State.APPRAISING,
            appraised_round__isnull=True,
        )
        .exclude(criterion__method__in=NOT_SELF_SCORED)
        .values("case__cycle_id", "criterion__area__code", "case_id", "case__unit_id")
        .annotate(n=Count("pk"))
        .values_list("case__cycle_id", "criterion__area__code", "case_id", "case__unit_id", "n")
    ):
        by_area[(cycle_id, area)].append((case_id, unit_id, n))
    users = sorted({user_id for of_cycle in areas.values() for user_id in of_cycle})
    own_units: dict[int, set[int]] = defaultdict(set)
    for user_id, unit_id in Membership.objects.filter(user_id__in=users).values_list(
        "user_id", "unit_id"
    ):
        own_units[user_id].add(unit_id)
    # Nor the case of the department they represent on that cycle's council.
    represented: dict[tuple[int, int], set[int]] = defaultdict(set)
    for cycle_id, user_id, unit_id in CouncilMember.objects.filter(
        council__cycle_id__in=list(areas), user_id__in=users, department__isnull=False
    ).values_list("council__cycle_id", "user_id", "department_id"):
        represented[(cycle_id, user_id)].add(unit_id)

    def pending(cycle_id: int, user_id: int) -> tuple[int, int]:
        criteria, cases = 0, set()
        own = own_units.get(user_id, set()) | represented.get((cycle_id, user_id), set())
        for area in areas[cycle_id][user_id]:
            for case_id, unit_id, n in by_area.get((cycle_id, area), ()):
                if unit_id not in own:
                    criteria += n
                    cases.add(case_id)
        return criteria, len(cases)

    return pending


# --- claiming and sending ------------------------------------------------------------------


def _deliver(reminders: list[Reminder], now: datetime, run: uuid.UUID) -> int:
    """Claim each (key, recipient) once and notify those this run claimed. Returns rows sent."""
    keys = sorted({r.key for r in reminders})
    sent_before: set[tuple[str, int]] = set()
    for chunk in chunks(keys, KEY_CHUNK):
        sent_before.update(
            ReminderLog.objects.filter(key__any=set(chunk)).values_list("key", "recipient_id")
        )
    todo = []
    for reminder in reminders:
        left = [u for u in reminder.recipients if (reminder.key, u) not in sent_before]
        if left:
            reminder.recipients = sorted(left)
            todo.append(reminder)
    todo.sort(key=lambda r: r.key)
    batches = list(chunks(todo, BATCH))
    return sum(in_batches(lambda batch: _claim_and_notify(batch, now, run), batches))


def _claim_and_notify(batch: Sequence[Reminder], now: datetime, run: uuid.UUID) -> int:
    # The claims in (key, recipient) order, made as copies of one row (positional values,
    # not keywords: a batch makes a thousand of them).
    wanted = sorted(
        ((r.key, user_id, r) for r in batch for user_id in r.recipients), key=itemgetter(0, 1)
    )
    claim = copier(
        ReminderLog(key="", recipient_id=0, kind="", run=run, sent_at=now),
        "key",
        "recipient_id",
        "kind",
        "case_id",
        "cycle_id",
    )
    rows = [claim(key, user_id, r.kind, r.case_id, r.cycle_id) for key, user_id, r in wanted]
    sent = 0
    with transaction.atomic(durable=True):
        # Key order everywhere: concurrent sweeps wait on each other's rows, never deadlock.
        # The rows the INSERT wrote are the ones this run claimed: a row another sweep holds
        # is waited for, and comes back only if that sweep rolled back.
        claimed = set(bulk.insert(rows, returning=("key", "recipient"), ignore_conflicts=True))
        messages = []
        for reminder in batch:
            mine = [u for u in reminder.recipients if (reminder.key, u) in claimed]
            if not mine:
                continue
            text_vi, text_en = reminder.texts()
            messages.append(
                Message(
                    reminder.kind,
                    mine,
                    text_vi,
                    text_en,
                    reminder.case_id,
                    reminder.link,
                )
            )
            sent += len(mine)
        # One fan-out for the batch: its recipients' permissions in two queries, the inbox
        # rows and deliveries in one statement (two INSERTs on SQLite).
        notify_many(messages)
    return sent
