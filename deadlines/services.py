"""The secretariat's deadline actions: extensions (gia hạn) and the working-day calendar.

Each runs in one durable transaction: the permission is checked first (404 for a case the
user may not see, 403 for anyone but the secretariat), then the input, then the change is
made and audited (`workflow.audit`); an extension's entry is published, so that the unit
is told (a notification kind of `notifications.rules`) in the same transaction. A refusal raises a `DomainError` and changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import permissions
from cases.errors import Conflict, InvalidInput, NotAllowed, NotFound, WrongState
from cases.models import Case
from cases.users import User
from deadlines import policy, texts
from deadlines.calendar import end_of_day, is_working_day, last_day, local_date, parse_day
from deadlines.models import CalendarOverride, Extension
from workflow import audit, events, rules
from workflow.models import Clarification

EXTENSION_KIND = "deadlines.extension_granted"


def _require_secretariat(actor: User, message: str) -> None:
    if not (permissions.may_manage_cycle(actor)):
        raise NotAllowed(message)


def _day(raw: Any, what: str) -> date:
    day = parse_day(raw)
    if day is None:
        raise InvalidInput(
            _("%(field)s: “%(raw)s” is not a date; write it as dd/mm/yyyy or yyyy-mm-dd.")
            % {"field": what, "raw": "" if raw is None else raw}
        )
    return day


def _reason(raw: Any, message: str) -> str:
    reason = str(raw or "").strip()
    if not reason:
        raise InvalidInput(message)
    return reason


def grant_extension(
    case_id: int,
    *,
    kind: Any,
    due_date: Any,
    reason: Any,
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
        known = kind in Extension.Kind.values
        facts = rules.facts_for(actor, case, now, codes=("change_cycle",))
        reasons = rules.extend(facts, kind if known else None)
        if reasons and reasons[0].kind == rules.Kind.ROLE:
            raise NotAllowed(_("Only the secretariat grants extensions."))
        if not known:
            raise InvalidInput(
                _("Say which deadline to extend: “self_assessment” or “explanation”.")
            )
        rules.enforce(reasons)
        day = _day(due_date, _("New deadline"))
        reason_text = _reason(reason, _("Give the reason for the extension."))
        if kind == Extension.Kind.SELF_ASSESSMENT:
            current = _check_self_assessment(case, day)
        else:
            current = _check_explanation(case, day)
        if day < local_date(now):
            raise InvalidInput(
                _("The new deadline (%(new)s) has already passed.") % {"new": texts.day(day)}
            )
        extension = Extension.objects.create(
            case=case,
            kind=kind,
            previous_due=current,
            due_date=day,
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
                .update(due_at=end_of_day(day))
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


def add_calendar_day(day: Any, kind: Any, reason: Any, *, actor: User) -> CalendarOverride:
    """Declare a day off or a make-up working day; deadlines computed later count it."""
    _require_secretariat(actor, _("Only the secretariat changes the working-day calendar."))
    the_day = _day(day, _("Date"))
    if kind not in CalendarOverride.Kind.values:
        raise InvalidInput(_("Say what the day becomes: “day_off” or “working_day”."))
    reason_text = _reason(reason, _("Give the reason for changing the calendar."))
    working = is_working_day(the_day)
    if kind == CalendarOverride.Kind.WORKING_DAY and working:
        raise InvalidInput(_("%(date)s is already a working day.") % {"date": texts.day(the_day)})
    if kind == CalendarOverride.Kind.DAY_OFF and not working:
        raise InvalidInput(_("%(date)s is already a day off.") % {"date": texts.day(the_day)})
    try:
        with transaction.atomic(durable=True):
            override = CalendarOverride.objects.create(
                day=the_day, kind=kind, reason=reason_text, created_by=actor
            )
            audit.calendar_day_changed(override, actor=actor, added=True, reason=reason_text)
    except IntegrityError:
        raise Conflict(
            _("%(date)s is already changed in the calendar; remove that change first.")
            % {"date": texts.day(the_day)}
        ) from None
    return override


def remove_calendar_day(day: Any, reason: Any, *, actor: User) -> None:
    """Take back a day off or make-up working day; answer dates already fixed stay as they are."""
    _require_secretariat(actor, _("Only the secretariat changes the working-day calendar."))
    the_day = _day(day, _("Date"))
    reason_text = _reason(reason, _("Give the reason for changing the calendar."))
    with transaction.atomic(durable=True):
        override = CalendarOverride.objects.select_for_update().filter(day=the_day).first()
        if override is None:
            raise NotFound(
                _("%(date)s has no calendar change to remove.") % {"date": texts.day(the_day)}
            )
        audit.calendar_day_changed(override, actor=actor, added=False, reason=reason_text)
        override.delete()
