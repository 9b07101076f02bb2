"""Cycle-level actions of the secretariat and the leader: open a cycle, change its deadlines,
manage who belongs where, and publish results. Each is audited in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases import permissions
from cases.errors import DomainError, GuardFailed, InvalidInput, NotAllowed, NotFound, WrongState
from cases.frameworks import checks, copying
from cases.models import (
    AppraiserAssignment,
    Case,
    Criterion,
    Cycle,
    Framework,
    Membership,
    PublishedResult,
    Score,
    Unit,
    UnitGroup,
)
from cases.users import User, display_name
from deadlines import policy
from deadlines.calendar import local_date
from deadlines.models import Extension
from workflow import audit, council, cycle_settings, events
from workflow.services import apply_transition, run_transition

# What may still change once a cycle is open: its title, deadlines and reminders. Everything
# else (years, legal basis, weights, groups, criteria sets) is settled while it is a draft.
EDITABLE_CYCLE_FIELDS = (
    "title",
    "self_assessment_due",
    "survey_due",
    "appraisal_due",
    "publication_target",
    "explanation_window_days",
    "reminder_offsets",
    "overdue_reminder",
    "auto_start_appraisal",
    "explanation_may_replace_evidence",
    "reward_rule",  # until the results are published
)
DATE_FIELDS = cycle_settings.DATES


def _require_global(actor: User, perm: str) -> None:
    if not permissions.has_global(actor, perm):
        raise NotAllowed(_("You are not allowed to do this."))


def create_cycle(settings: cycle_settings.SettingsRead, *, actor: User) -> Cycle:
    """The secretariat creates a draft cycle with its settings and, optionally, its criteria
    sets (`settings.frameworks`: one per unit group), as `cycle_settings.read_new` read them.
    Every problem is named; nothing is saved unless all is right."""
    _require_global(actor, "cases.change_cycle")
    wrong = dict(settings.problems)
    set_problems = wrong.pop("frameworks", [])
    problems = {
        **cycle_settings.unknown(settings.sent, cycle_settings.SETTINGS),
        **cycle_settings.missing(settings.sent),
        **wrong,
    }
    values = settings.values.copy()
    if "title" not in values and "year" in values:
        values["title"] = _("Administrative reform index %(year)s") % {"year": values["year"]}
    if values.get("run_year") is None and "year" in values:
        values["run_year"] = values["year"] + 1
    if not problems:
        problems.update(cycle_settings.check_together(Cycle(**values)))
    sets, unknown_sets = _sets_to_bind(settings.frameworks)
    set_problems = [*set_problems, *unknown_sets]
    if set_problems:
        problems.setdefault("frameworks", []).extend(set_problems)
    if problems:
        raise cycle_settings.SettingsRefused(problems)
    saved: Mapping[str, Any] = values
    with transaction.atomic():
        cycle = Cycle.objects.create(**values)
        audit.record(
            audit.CYCLE_CREATED,
            actor=actor,
            cycle=cycle,
            obj=cycle,
            after={k: saved[k] for k in cycle_settings.SETTINGS if k in saved},
        )
        for framework in sets:
            _bind(cycle, framework, actor)
    return cycle


def _sets_to_bind(ids: Iterable[int]) -> tuple[list[Framework], list[str]]:
    """The criteria sets named by id, at most one per unit group."""
    ids = list(ids)
    found = {f.pk: f for f in Framework.objects.filter(pk__in=ids).select_related("unit_group")}
    problems = [
        _("There is no criteria set with id %(id)s.") % {"id": i} for i in ids if i not in found
    ]
    groups: dict[int, Framework] = {}
    for framework in found.values():
        other = groups.setdefault(framework.unit_group_id, framework)
        if other is not framework:
            problems.append(
                _("Two criteria sets are given for %(group)s; a unit group has one.")
                % {"group": framework.unit_group.name}
            )
    return list(found.values()), problems


def _bind(cycle: Cycle, framework: Framework, actor: User) -> Framework:
    """Make `framework` the set of its unit group in `cycle` (a draft, locked by the caller).

    A set not yet bound is bound as it is; a set bound to another cycle stays with it (its
    cases were or will be scored against it) and a copy, its next version, is bound instead.
    The set the group had in this cycle before is unbound and kept."""
    if framework.cycle_id == cycle.pk:
        return framework
    previous = Framework.objects.filter(cycle=cycle, unit_group_id=framework.unit_group_id).first()
    if previous is not None:
        previous.cycle = None
        previous.save(update_fields=["cycle"])
    if framework.cycle_id is None:
        framework.cycle = cycle
        framework.save(update_fields=["cycle"])
        bound = framework
    else:
        bound = copying.copy_framework(framework, cycle=cycle)
    audit.record(
        audit.FRAMEWORK_BOUND,
        actor=actor,
        cycle=cycle,
        obj=bound,
        data={
            "framework": bound.pk,
            "group": framework.unit_group.code,
            "version": bound.version,
            "copied_from": framework.pk if bound is not framework else None,
            "replaced": previous.pk if previous is not None else None,
        },
    )
    return bound


def bind_framework(cycle_id: int, framework_id: int | None, *, actor: User) -> Framework:
    """The secretariat chooses the criteria set of a unit group for a draft cycle; returns the
    set bound (a new version when the chosen one belongs to another cycle)."""
    _require_global(actor, "cases.change_cycle")
    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().filter(pk=cycle_id).first()
        if cycle is None:
            raise NotFound(_("This cycle does not exist."))
        if cycle.status != Cycle.Status.DRAFT:
            raise WrongState(
                _("%(cycle)s is open: its criteria sets can no longer change.")
                % {"cycle": cycle.title}
            )
        framework = (
            Framework.objects.select_related("unit_group").filter(pk=framework_id).first()
            if framework_id is not None
            else None
        )
        if framework is None:
            raise InvalidInput(_("Choose a criteria set."))
        return _bind(cycle, framework, actor)


def opening_problems(cycle: Cycle) -> list[str]:
    """Every reason the cycle cannot be opened yet: a unit group with active units but no
    criteria set, a set that cannot be scored (it does not sum, a leaf has no method)."""
    problems = []
    frameworks = list(cycle.frameworks.select_related("unit_group").order_by("unit_group__code"))
    covered = {f.unit_group_id for f in frameworks}
    groups = list(
        UnitGroup.objects.filter(units__is_active=True)
        .annotate(n=Count("units"))
        .order_by("code")
        .values_list("pk", "name", "n")
    )
    if not groups:
        problems.append(_("There is no active unit to assess."))
    for group_id, name, count in groups:
        if group_id not in covered:
            problems.append(
                ngettext(
                    "%(group)s (%(n)s unit) has no criteria set in this cycle.",
                    "%(group)s (%(n)s units) has no criteria set in this cycle.",
                    count,
                )
                % {"group": name, "n": count}
            )
    for framework in frameworks:
        problems += [
            _("Criteria set “%(set)s”: %(problem)s") % {"set": framework.title, "problem": problem}
            for problem in checks.set_problems(framework)
        ]
    return problems


def open_cycle(cycle_id: int, *, actor: User, now: datetime | None = None) -> int:
    """Create one case, with a score row per leaf of its group's set, for every active unit.

    Refused, with every reason, while a unit group has no set or a set cannot be scored."""
    _require_global(actor, "cases.change_cycle")
    now = now or timezone.now()
    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().get(pk=cycle_id)
        if cycle.status != Cycle.Status.DRAFT:
            raise WrongState(_("This cycle is already open."))
        problems = opening_problems(cycle)
        if problems:
            raise GuardFailed(_("The cycle cannot be opened yet."), problems)
        frameworks = {f.unit_group_id: f for f in cycle.frameworks.all()}
        units = list(Unit.objects.filter(is_active=True, group_id__in=frameworks))
        cases = Case.objects.bulk_create([Case(cycle=cycle, unit=u) for u in units])
        if any(c.pk is None for c in cases):  # backends that do not return ids
            cases = list(Case.objects.filter(cycle=cycle))
        leaves: dict[int, list[int]] = {}
        for _framework_id, group_id, criterion_id in Criterion.objects.filter(
            framework__cycle=cycle, is_leaf=True
        ).values_list("framework_id", "framework__unit_group_id", "pk"):
            leaves.setdefault(group_id, []).append(criterion_id)
        unit_group = {u.pk: u.group_id for u in units}
        Score.objects.bulk_create(
            [
                Score(case_id=c.pk, criterion_id=crit)
                for c in cases
                for crit in leaves.get(unit_group[c.unit_id], [])
            ],
            batch_size=5000,
        )
        permissions.sync_case_permissions(cases)
        cycle.status = Cycle.Status.OPEN
        cycle.opened_at = now
        cycle.save(update_fields=["status", "opened_at"])
        audit.record(
            audit.CYCLE_OPENED, actor=actor, cycle=cycle, obj=cycle, data={"cases": len(cases)}
        )
    return len(cases)


def cases_locked_by(cycle: Cycle, due: date | None, now: datetime) -> int:
    """How many cases still self-scoring a self-assessment deadline of `due` would lock now:
    those whose own extension does not run past it."""
    if due is None or due >= local_date(now):
        return 0
    extended = Extension.objects.filter(
        case=OuterRef("pk"),
        kind=Extension.Kind.SELF_ASSESSMENT,
        due_date__gte=local_date(now),
    )
    return (
        Case.objects.filter(cycle=cycle, state=Case.State.SELF_SCORING)
        .exclude(Exists(extended))
        .count()
    )


class LockNotConfirmed(GuardFailed):
    """A deadline moved into the past without repeating how many cases it locks: a refusal
    about the confirmation, which the settings page shows beside that field."""


def update_cycle(
    cycle_id: int,
    changes: cycle_settings.SettingsRead,
    *,
    actor: User,
    reason: str = "",
    confirm_lock: str = "",
    now: datetime | None = None,
) -> Cycle:
    """The secretariat changes the settings of a cycle; audited with the reason.

    A draft takes every setting; an open cycle only its title, deadlines and reminders, and a
    changed deadline needs the reason. A self-assessment deadline moved into the past locks
    every case still being scored at the next sweep: the change is refused unless
    `confirm_lock` repeats how many cases that is, so nobody locks units out by a typo.
    `changes` is what `cycle_settings.read_sent` read; a setting the cycle no longer takes
    is refused as such, whatever its value."""
    _require_global(actor, "cases.change_cycle")
    now = now or timezone.now()
    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().get(pk=cycle_id)
        is_draft = cycle.status == Cycle.Status.DRAFT
        allowed = cycle_settings.SETTINGS if is_draft else EDITABLE_CYCLE_FIELDS
        problems = cycle_settings.unknown(changes.sent, (*allowed, "reason", "confirm_lock"))
        problems.update(changes.problems_of(allowed))
        if problems:
            raise cycle_settings.SettingsRefused(problems)
        parsed: Mapping[str, Any] = changes.values_of(allowed)
        before = {k: getattr(cycle, k) for k in parsed}
        settled = cycle.status == Cycle.Status.PUBLISHED
        if settled and "reward_rule" in parsed and parsed["reward_rule"] != before["reward_rule"]:
            raise cycle_settings.SettingsRefused(
                {"reward_rule": [_("The results are published: the reward rule is settled.")]}
            )
        for key, value in parsed.items():
            setattr(cycle, key, value)
        together = cycle_settings.check_together(cycle)
        if together:
            raise cycle_settings.SettingsRefused(together)
        extended = policy.latest_self_extension(cycle)
        if extended is not None and cycle.appraisal_due <= extended:
            raise InvalidInput(
                _(
                    "The appraisal deadline (%(appraisal)s) must come after every self-assessment extension; the latest runs to %(extended)s."
                )
                % {
                    "appraisal": date_format(cycle.appraisal_due, "d/m/Y"),
                    "extended": date_format(extended, "d/m/Y"),
                }
            )
        changed_dates = [k for k in parsed if k in DATE_FIELDS and parsed[k] != before[k]]
        if changed_dates and not is_draft and not reason.strip():
            raise InvalidInput(_("Give the reason for changing a deadline."))
        if "self_assessment_due" in parsed and parsed["self_assessment_due"] != before.get(
            "self_assessment_due"
        ):
            locking = cases_locked_by(cycle, cycle.self_assessment_due, now)
            if locking and confirm_lock.strip() != str(locking):
                raise LockNotConfirmed(
                    _(
                        "The new self-assessment deadline (%(date)s) has already passed: "
                        "%(count)s cases still being scored will be locked."
                    )
                    % {"date": date_format(cycle.self_assessment_due, "d/m/Y"), "count": locking},
                    [
                        _("To go ahead, confirm that %(count)s cases will be locked.")
                        % {"count": locking}
                    ],
                )
        cycle.save(update_fields=list(parsed))
        audit.record(
            audit.CYCLE_CHANGED,
            actor=actor,
            cycle=cycle,
            obj=cycle,
            before=before,
            after={k: getattr(cycle, k) for k in parsed},
            comment=reason.strip(),
        )
    return cycle


def add_membership(user: User, unit: Unit, role: str, *, actor: User) -> Membership:
    if not permissions.may_take_case_role(user):
        raise InvalidInput(permissions.case_role_refusal(user))
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(user=user, unit=unit, role=role)
        if created:
            permissions.sync_case_permissions(Case.objects.filter(unit=unit))
            audit.record(
                audit.MEMBERSHIP_ADDED,
                actor=actor,
                obj=membership,
                data={"user": user.username, "unit": unit.code, "role": role},
            )
    return membership


def remove_membership(membership: Membership, *, actor: User) -> None:
    with transaction.atomic():
        data = {
            "user": membership.user.username,
            "unit": membership.unit.code,
            "role": membership.role,
        }
        unit = membership.unit
        membership.delete()
        permissions.sync_case_permissions(Case.objects.filter(unit=unit))
        audit.record(audit.MEMBERSHIP_REMOVED, actor=actor, data=data)


def assign_appraiser(
    cycle: Cycle, user: User, area_code: str, *, actor: User
) -> AppraiserAssignment:
    if not permissions.may_take_case_role(user):
        raise InvalidInput(permissions.case_role_refusal(user))
    refusal = council.assignable_refusal(cycle, user, area_code)
    if refusal:
        raise InvalidInput(refusal)
    with transaction.atomic():
        assignment, created = AppraiserAssignment.objects.get_or_create(
            cycle=cycle, user=user, area_code=area_code
        )
        if created:
            permissions.sync_case_permissions(Case.objects.filter(cycle=cycle))
            audit.record(
                audit.ASSIGNMENT_ADDED,
                actor=actor,
                cycle=cycle,
                obj=assignment,
                data={"user": user.username, "area": area_code},
            )
    return assignment


def unassign_appraiser(assignment: AppraiserAssignment, *, actor: User) -> None:
    with transaction.atomic():
        cycle = assignment.cycle
        data = {"user": assignment.user.username, "area": assignment.area_code}
        assignment.delete()
        permissions.sync_case_permissions(Case.objects.filter(cycle=cycle))
        audit.record(audit.ASSIGNMENT_REMOVED, actor=actor, cycle=cycle, data=data)


def _assignable_cycle(cycle_id: int, actor: User) -> Cycle:
    if not permissions.may_manage_cycle(actor):
        raise NotAllowed(_("Only the secretariat assigns appraisers."))
    cycle = Cycle.objects.select_for_update().get(pk=cycle_id)
    if cycle.status == Cycle.Status.PUBLISHED:
        raise WrongState(_("The results of this cycle are published: assignments are closed."))
    return cycle


def create_assignment(
    cycle_id: int, user_ref: int | str, area_code: str, *, actor: User
) -> tuple[AppraiserAssignment, bool]:
    """The secretariat assigns a council member to an area; (assignment, created)."""
    area_code = str(area_code or "").strip()
    with transaction.atomic():
        cycle = _assignable_cycle(cycle_id, actor)
        user_model = get_user_model()
        lookup = {"pk": user_ref} if str(user_ref).isdigit() else {"username": user_ref}
        user = user_model.objects.filter(is_active=True, **lookup).first() if user_ref else None
        errors = []
        if user is None:
            errors.append(_("There is no active user “%(user)s”.") % {"user": user_ref or ""})
        elif not permissions.may_take_case_role(user):
            errors.append(permissions.case_role_refusal(user))
        areas = set(council.area_codes(cycle))
        if (
            user is not None
            and area_code in areas
            and (why := council.assignable_refusal(cycle, user, area_code))
        ):
            errors.append(why)
        if area_code not in areas:
            errors.append(
                _("“%(area)s” is not an area of this cycle's criteria (areas: %(areas)s).")
                % {"area": area_code, "areas": ", ".join(sorted(areas, key=_natural))}
            )
        if errors or user is None:
            raise InvalidInput(_("The assignment cannot be made."), errors)
        existing = AppraiserAssignment.objects.filter(
            cycle=cycle, user=user, area_code=area_code
        ).first()
        if existing is not None:
            return existing, False
        return assign_appraiser(cycle, user, area_code, actor=actor), True


def delete_assignment(cycle_id: int, assignment_id: int, *, actor: User) -> None:
    with transaction.atomic():
        cycle = _assignable_cycle(cycle_id, actor)
        assignment = (
            AppraiserAssignment.objects.filter(cycle=cycle, pk=assignment_id)
            .select_related("user", "cycle")
            .first()
        )
        if assignment is None:
            raise NotFound(_("This assignment does not exist."))
        unassign_appraiser(assignment, actor=actor)


def _natural(code: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in code.split(".")]


def submit_results(cycle_id: int, *, actor: User) -> Cycle:
    """The secretariat sends the finalised results of the cycle to the leader."""
    _require_global(actor, "cases.finalise_case")
    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().get(pk=cycle_id)
        if cycle.status != Cycle.Status.OPEN:
            raise WrongState(_("The results of this cycle were already sent or published."))
        _all_finalised(cycle)
        _survey_complete(cycle)
        cycle.status = Cycle.Status.RESULTS_SUBMITTED
        cycle.save(update_fields=["status"])
        entry = audit.record(audit.CYCLE_RESULTS_SUBMITTED, actor=actor, cycle=cycle, obj=cycle)
        events.publish(entry)
    return cycle


def _all_finalised(cycle: Cycle) -> None:
    pending = list(
        Case.objects.filter(cycle=cycle)
        .exclude(state=Case.State.FINALISED)
        .order_by("unit__code")
        .values_list("unit__code", "unit__name", "state")
    )
    if pending:
        raise GuardFailed(
            _("Every case must be finalised first."),
            [
                _("%(code)s – %(name)s is “%(state)s”.")
                % {"code": code, "name": name, "state": Case.State(state).label}
                for code, name, state in pending
            ],
        )


def _survey_complete(cycle: Cycle) -> None:
    """Every applicable survey criterion has an imported score: else the index is wrong."""
    missing = list(
        Score.objects.survey_of(cycle)
        .survey_missing()
        .values_list("case__unit__code", "case__unit__name")
        .annotate(n=Count("pk"))
        .order_by("case__unit__code")
    )
    if missing:
        raise GuardFailed(
            _("Import the survey scores first."),
            [
                _("%(code)s – %(name)s has no survey score for %(count)s criteria.")
                % {"code": code, "name": name, "count": count}
                for code, name, count in missing
            ],
        )


# The results app, above the workflow, computes the ranking that publication freezes; it
# registers the function here (results/apps.py) instead of the workflow importing it.
FreezeResults = Callable[[Cycle], list[PublishedResult]]
_freezers: list[FreezeResults] = []


def register_results_freezer(freeze: FreezeResults) -> None:
    """`freeze(cycle)` saves and returns the cycle's `PublishedResult` rows."""
    _freezers[:] = [freeze]


def _freeze_results(cycle: Cycle) -> list[PublishedResult]:
    if not _freezers:
        raise RuntimeError("No results app registered a freezer: add `results` to the apps.")
    return _freezers[0](cycle)


def publish_cycle(
    cycle_id: int,
    *,
    actor: User,
    decision_number: str,
    decision_date: date | None,
    signer: str = "",
    now: datetime | None = None,
) -> int:
    """The leader approves and publishes every finalised case of the cycle, all or none."""
    _require_global(actor, "cases.publish_case")
    now = now or timezone.now()
    number = decision_number.strip()
    errors = []
    if not number:
        errors.append(_("Give the number of the approval decision."))
    if decision_date is None:
        errors.append(_("Give the date of the approval decision."))
    if decision_date is not None and decision_date > local_date(now):
        errors.append(
            _("The decision date %(date)s is in the future: give the date it was signed.")
            % {"date": date_format(decision_date, "d/m/Y")}
        )
    if errors:
        raise InvalidInput(_("The approval decision is incomplete."), errors)
    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().get(pk=cycle_id)
        if cycle.status == Cycle.Status.PUBLISHED:
            raise WrongState(_("This cycle's results are already published."))
        if cycle.status != Cycle.Status.RESULTS_SUBMITTED:
            raise WrongState(_("The secretariat has not sent the results for approval yet."))
        _all_finalised(cycle)
        decision: dict[str, Any] = {
            "number": number,
            "date": decision_date,
            "signer": signer or display_name(actor),
        }
        case_ids = list(Case.objects.filter(cycle=cycle).values_list("pk", flat=True))
        for case_id in case_ids:
            apply_transition(
                case_id,
                "publish",
                actor=actor,
                now=now,
                comment=_("Decision %(number)s") % {"number": number},
                params={"decision": decision},
            )
        # Frozen in the same transaction: what is announced, and next year's comparison.
        frozen = _freeze_results(cycle)
        cycle.status = Cycle.Status.PUBLISHED
        cycle.decision_number = number
        cycle.decision_date = decision_date
        cycle.decision_signer = decision["signer"]
        cycle.published_at = now
        cycle.save(
            update_fields=[
                "status",
                "decision_number",
                "decision_date",
                "decision_signer",
                "published_at",
            ]
        )
        entry = audit.record(
            audit.CYCLE_PUBLISHED,
            actor=actor,
            cycle=cycle,
            obj=cycle,
            data={"decision": decision, "cases": len(case_ids)},
            snapshot=[
                {
                    "unit": row.unit_id,
                    "group": row.group_code,
                    "rank": row.rank,
                    "index": row.index,
                    "classification": row.classification,
                    "excluded": row.excluded,
                    "reason": row.exclusion_reason,
                    "areas": row.areas,
                    "previous_rank": row.previous_rank,
                }
                for row in frozen
            ],
        )
        events.publish(entry)
    return len(case_ids)


# Steps the secretariat may run on a selection of cases from the cycle overview.
BULK_TRANSITIONS = ("start_appraisal", "finalise")


@dataclass
class BulkOutcome:
    done: list[Case] = field(default_factory=list)
    refused: list[tuple[Case, DomainError]] = field(default_factory=list)


def run_transition_for_cases(
    cycle_id: int, case_ids: Iterable[int], name: str, *, actor: User
) -> BulkOutcome:
    """Run one step on many cases of a cycle: each case through `run_transition` (its own
    transaction, permission, guards and audit entry), so one refusal stops only that case."""
    if name not in BULK_TRANSITIONS:
        raise NotFound(_("There is no step called “%(name)s”.") % {"name": name})
    ids = set(case_ids)
    if not ids:
        raise InvalidInput(_("Choose at least one case."))
    outcome = BulkOutcome()
    cases = (
        Case.objects.filter(cycle_id=cycle_id, pk__in=ids)
        .select_related("unit")
        .order_by("unit__code")
    )
    for case in cases:
        try:
            run_transition(case.pk, name, actor=actor)
        except DomainError as error:
            outcome.refused.append((case, error))
        else:
            outcome.done.append(case)
    return outcome
