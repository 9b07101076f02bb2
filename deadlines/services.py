"""The secretariat's deadline actions: extensions (gia hạn) and the working-day calendar.

Each runs in one durable transaction: the permission is checked first (404 for a case the
user may not see, 403 for anyone but the secretariat), then the input, then the change is
made and audited (`workflow.audit`); an extension's entry is published, so that the unit
is told (a notification kind of `notifications.rules`) in the same transaction. A refusal raises a `DomainError` and changes nothing.

The values arrive typed (a `date`, the model's choice, a text): the API's serializers and
the pages' forms read them, after asking the same permission (`require_extender`,
`require_calendar_keeper`), so that a user without the role learns nothing of the input.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import permissions
from cases.errors import Conflict, InvalidInput, NotAllowed, NotFound, WrongState
from cases.models import Case
from cases.users import User
from deadlines import policy, texts
from deadlines.calendar import end_of_day, is_working_day, last_day, local_date
from deadlines.models import CalendarOverride, Extension
from workflow import audit, events, rules
from workflow.models import Clarification

EXTENSION_KIND = "deadlines.extension_granted"


def require_calendar_keeper(actor: User) -> None:
    """Only the secretariat changes the calendar; the edge asks before it reads the input."""
    if not permissions.may_manage_cycle(actor):
        raise NotAllowed(permissions.calendar_refusal())


def require_extender(actor: User, case: Case) -> None:
    """Only the secretariat extends a deadline; the edge asks before it reads the input."""
    if not permissions.may_extend_deadlines(actor, case):
        raise NotAllowed(permissions.extension_refusal())


def _reason(text: str, message: str) -> str:
    reason = text.strip()
    if not reason:
        raise InvalidInput(message)
    return reason


def grant_extension(
    case_id: int,
    *,
    kind: Extension.Kind,
    due_date: date,
    reason: str,
    actor: User,
    now: datetime | None = None,
) -> Extension:
    """Give one unit a later self-assessment or answer deadline; audited, the unit told."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        case = permissions.get_case_for_user(
            actor,
            case_id,
            queryset=Case.objects.select_for_update(of=("self",)).select_related("cycle", "unit"),
        )
        require_extender(actor, case)
        facts = rules.facts_for(actor, case, now, codes=("change_cycle",))
        rules.enforce(rules.extend(facts, kind))
        reason_text = _reason(reason, _("Give the reason for the extension."))
        if kind == Extension.Kind.SELF_ASSESSMENT:
            current = _check_self_assessment(case, due_date)
        else:
            current = _check_explanation(case, due_date)
        if due_date < local_date(now):
            raise InvalidInput(
                _("The new deadline (%(new)s) has already passed.") % {"new": texts.day(due_date)}
            )
        extension = Extension.objects.create(
            case=case,
            kind=kind,
            previous_due=current,
            due_date=due_date,
            reason=reason_text,
            granted_by=actor,
            granted_at=now,
        )
        moved = 0
        if kind == Extension.Kind.EXPLANATION:
            moved = (
                Clarification.objects.filter(
                    case=case, round=case.appraisal_round, due_at__isnull=False
                )
                .exclude(status=Clarification.Status.EXPIRED)
                .update(due_at=end_of_day(due_date))
            )
        # Published: notifications tell the unit (its `deadlines.extension_granted` kind).
        events.publish(
            audit.extension_granted(
                extension, actor=actor, case=case, data={"questions": moved} if moved else None
            )
        )
    return extension


def _later_than(day: date, current: date) -> None:
    if day <= current:
        raise InvalidInput(
            _("The new deadline (%(new)s) must be later than the current one (%(current)s).")
            % {"new": texts.day(day), "current": texts.day(current)}
        )


def _check_self_assessment(case: Case, day: date) -> date:
    current = policy.self_assessment_due(case)
    _later_than(day, current)
    if day >= case.cycle.appraisal_due:
        raise InvalidInput(
            _("The new deadline (%(new)s) must come before the appraisal deadline (%(next)s).")
            % {"new": texts.day(day), "next": texts.day(case.cycle.appraisal_due)}
        )
    return current


def _check_explanation(case: Case, day: date) -> date:
    due_at = Clarification.objects.answer_due_at(case)
    if due_at is None:
        raise WrongState(_("No explanation is requested from this unit now."))
    current = last_day(due_at)
    _later_than(day, current)
    if day > case.cycle.appraisal_due:
        raise InvalidInput(
            _("The new deadline (%(new)s) cannot come after the appraisal deadline (%(next)s).")
            % {"new": texts.day(day), "next": texts.day(case.cycle.appraisal_due)}
        )
    return current


def add_calendar_day(
    day: date, kind: CalendarOverride.Kind, reason: str, *, actor: User
) -> CalendarOverride:
    """Declare a day off or a make-up working day; deadlines computed later count it."""
    require_calendar_keeper(actor)
    reason_text = _reason(reason, _("Give the reason for changing the calendar."))
    working = is_working_day(day)
    if kind == CalendarOverride.Kind.WORKING_DAY and working:
        raise InvalidInput(_("%(date)s is already a working day.") % {"date": texts.day(day)})
    if kind == CalendarOverride.Kind.DAY_OFF and not working:
        raise InvalidInput(_("%(date)s is already a day off.") % {"date": texts.day(day)})
    try:
        with transaction.atomic(durable=True):
            override = CalendarOverride.objects.create(
                day=day, kind=kind, reason=reason_text, created_by=actor
            )
            audit.calendar_day_changed(override, actor=actor, added=True, reason=reason_text)
    except IntegrityError:
        raise Conflict(
            _("%(date)s is already changed in the calendar; remove that change first.")
            % {"date": texts.day(day)}
        ) from None
    return override


def remove_calendar_day(day: date, reason: str, *, actor: User) -> None:
    """Take back a day off or make-up working day; answer dates already fixed stay as they are."""
    require_calendar_keeper(actor)
    reason_text = _reason(reason, _("Give the reason for changing the calendar."))
    with transaction.atomic(durable=True):
        override = CalendarOverride.objects.select_for_update().filter(day=day).first()
        if override is None:
            raise NotFound(
                _("%(date)s has no calendar change to remove.") % {"date": texts.day(day)}
            )
        audit.calendar_day_changed(override, actor=actor, added=False, reason=reason_text)
        override.delete()
