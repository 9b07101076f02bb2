"""The appraisal council of a cycle as a record: the decision that forms it, its chair,
vice-chairs, members with the department each represents, and its support team; the areas
each member department appraises. Every change is audited in its own transaction.

Who may be assigned to appraise an area (`check_assignable`, asked by
`cycle_services.assign_appraiser`): a member of the support team, or a council member whose
department holds the area. Nobody appraises the case of a unit they belong to or represent
(`cases.permissions.sync_case_permissions`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cases import permissions
from cases.errors import InvalidInput, NotAllowed, NotFound, WrongState
from cases.models import (
    AppraiserAssignment,
    Case,
    Council,
    CouncilArea,
    CouncilMember,
    Criterion,
    Cycle,
    Unit,
)
from cases.users import User, display_name
from deadlines.calendar import local_date
from workflow import audit


def _council_cycle(cycle_id: int, actor: User) -> Cycle:
    """The cycle, locked; only the secretariat, and never once its results are published."""
    if not permissions.may_manage_cycle(actor):
        raise NotAllowed(_("Only the secretariat records the appraisal council."))
    cycle = Cycle.objects.select_for_update().filter(pk=cycle_id).first()
    if cycle is None:
        raise NotFound(_("This cycle does not exist."))
    if cycle.status == Cycle.Status.PUBLISHED:
        raise WrongState(_("The results of this cycle are published: its council is closed."))
    return cycle


def _council(cycle: Cycle) -> Council:
    council = Council.objects.filter(cycle=cycle).first()
    if council is None:
        raise InvalidInput(_("Record the decision that forms the council first."))
    return council


def area_codes(cycle: Cycle) -> list[str]:
    """The areas of the cycle's criteria sets (the top level of each tree)."""
    codes = set(
        Criterion.objects.filter(framework__cycle=cycle, parent__isnull=True).values_list(
            "code", flat=True
        )
    )
    return sorted(codes, key=lambda c: [int(p) if p.isdigit() else p for p in c.split(".")])


def form_council(
    cycle_id: int,
    decision_number: str,
    decision_date: date | None,
    signer: str = "",
    *,
    actor: User,
    now: datetime | None = None,
) -> Council:
    """Record (or correct) the decision that forms the cycle's council. The edge reads the date
    (`deadlines.calendar.parse_day`): None when it was left out or is not one."""
    number = decision_number.strip()
    day = decision_date
    errors = []
    if not number or len(number) > 64:
        errors.append(_("Give the number of the decision (up to 64 characters)."))
    if day is None:
        errors.append(_("Give the date of the decision as dd/mm/yyyy."))
    elif day > local_date(now or timezone.now()):
        errors.append(
            _("The decision date %(date)s is in the future: give the date it was signed.")
            % {"date": date_format(day, "d/m/Y")}
        )
    if errors:
        raise InvalidInput(_("The decision forming the council is incomplete."), errors)
    assert day is not None
    with transaction.atomic():
        cycle = _council_cycle(cycle_id, actor)
        council = Council.objects.filter(cycle=cycle).first()
        before: dict[str, Any] | None = (
            {"number": council.decision_number, "date": council.decision_date}
            if council is not None
            else None
        )
        council = council or Council(cycle=cycle)
        council.decision_number = number
        council.decision_date = day
        council.decision_signer = signer.strip()[:255]
        council.save()
        audit.record(
            audit.COUNCIL_FORMED,
            actor=actor,
            cycle=cycle,
            obj=council,
            before=before,
            after={"number": number, "date": day, "signer": council.decision_signer},
        )
    return council


def _user(ref: int | str) -> User | None:
    """The person by id or by username."""
    ref = str(ref).strip()
    if not ref:
        return None
    lookup = {"pk": ref} if ref.isdigit() else {"username": ref}
    return get_user_model().objects.filter(is_active=True, **lookup).first()


def add_member(
    cycle_id: int, user_ref: int | str, role: str, department_code: str = "", *, actor: User
) -> CouncilMember:
    """Seat a person on the council: a member represents a department; the chair is one."""
    with transaction.atomic():
        cycle = _council_cycle(cycle_id, actor)
        council = _council(cycle)
        user = _user(user_ref)
        code = department_code.strip()
        department = Unit.objects.filter(code=code, is_active=True).first() if code else None
        errors = []
        if user is None:
            errors.append(_("There is no active user “%(user)s”.") % {"user": user_ref or ""})
        elif not permissions.may_take_case_role(user):
            errors.append(permissions.case_role_refusal(user))
        elif council.members.filter(user=user).exists():
            errors.append(_("%(name)s is already on the council.") % {"name": display_name(user)})
        if role not in CouncilMember.Role.values:
            errors.append(_("Choose the person's role on the council."))
        if code and department is None:
            errors.append(_("There is no active unit with the code “%(code)s”.") % {"code": code})
        if role == CouncilMember.Role.MEMBER and not code:
            errors.append(_("A council member represents a department: choose it."))
        if role == CouncilMember.Role.CHAIR and council.members.filter(role=role).exists():
            errors.append(_("The council already has its chair."))
        if errors or user is None:  # no user is among the errors
            raise InvalidInput(_("This person cannot join the council."), errors)
        member = CouncilMember.objects.create(
            council=council, user=user, role=role, department=department
        )
        if department is not None:
            permissions.sync_case_permissions(Case.objects.filter(cycle=cycle, unit=department))
        audit.record(
            audit.COUNCIL_MEMBER_ADDED,
            actor=actor,
            cycle=cycle,
            obj=member,
            data={
                "user": user.get_username(),
                "role": role,
                "department": department.code if department is not None else "",
            },
        )
    return member


def remove_member(cycle_id: int, member_id: int, *, actor: User) -> None:
    """Take a person off the council; refused while they are assigned areas."""
    with transaction.atomic():
        cycle = _council_cycle(cycle_id, actor)
        member = (
            CouncilMember.objects.filter(council__cycle=cycle, pk=member_id)
            .select_related("user", "department")
            .first()
        )
        if member is None:
            raise NotFound(_("This person is not on the council."))
        areas = sorted(
            AppraiserAssignment.objects.filter(cycle=cycle, user=member.user).values_list(
                "area_code", flat=True
            )
        )
        if areas:
            raise InvalidInput(
                _("%(name)s still appraises areas %(areas)s: remove those assignments first.")
                % {"name": display_name(member.user), "areas": ", ".join(areas)}
            )
        data = {
            "user": member.user.get_username(),
            "role": member.role,
            "department": member.department.code if member.department else "",
        }
        department = member.department
        member.delete()
        if department is not None:
            permissions.sync_case_permissions(Case.objects.filter(cycle=cycle, unit=department))
        audit.record(audit.COUNCIL_MEMBER_REMOVED, actor=actor, cycle=cycle, data=data)


def assign_area(cycle_id: int, area_code: str, department_code: str, *, actor: User) -> CouncilArea:
    """Give an area of the criteria to a department represented on the council."""
    area = area_code.strip()
    code = department_code.strip()
    with transaction.atomic():
        cycle = _council_cycle(cycle_id, actor)
        council = _council(cycle)
        areas = area_codes(cycle)
        represented = {
            m.department.code: m.department
            for m in council.members.select_related("department")
            if m.department is not None
        }
        errors = []
        if area not in areas:
            errors.append(
                _("“%(area)s” is not an area of this cycle's criteria (areas: %(areas)s).")
                % {"area": area, "areas": ", ".join(areas)}
            )
        if code not in represented:
            errors.append(
                _("No council member represents the department “%(code)s”.") % {"code": code}
            )
        if errors:
            raise InvalidInput(_("The area cannot be assigned."), errors)
        row, created = CouncilArea.objects.get_or_create(
            council=council, area_code=area, department=represented[code]
        )
        if created:
            audit.record(
                audit.COUNCIL_AREA_ASSIGNED,
                actor=actor,
                cycle=cycle,
                obj=row,
                data={"area": area, "department": code},
            )
    return row


def unassign_area(cycle_id: int, row_id: int, *, actor: User) -> None:
    """Take an area from a department; refused while its people appraise that area."""
    with transaction.atomic():
        cycle = _council_cycle(cycle_id, actor)
        row = (
            CouncilArea.objects.filter(council__cycle=cycle, pk=row_id)
            .select_related("department")
            .first()
        )
        if row is None:
            raise NotFound(_("This area is not assigned to that department."))
        people = list(
            AppraiserAssignment.objects.filter(
                cycle=cycle,
                area_code=row.area_code,
                user__council_seats__council__cycle=cycle,
                user__council_seats__department=row.department,
            ).select_related("user")
        )
        if people:
            raise InvalidInput(
                _("%(names)s of %(department)s still appraise area %(area)s: remove them first.")
                % {
                    "names": ", ".join(display_name(a.user) for a in people),
                    "department": row.department.name,
                    "area": row.area_code,
                }
            )
        data = {"area": row.area_code, "department": row.department.code}
        row.delete()
        audit.record(audit.COUNCIL_AREA_UNASSIGNED, actor=actor, cycle=cycle, data=data)


def assignable_refusal(cycle: Cycle, user: User, area_code: str) -> str:
    """Why `user` may not appraise `area_code` in `cycle` ("" when they may): they must be
    on the support team, or a council member whose department holds the area."""
    seat = (
        CouncilMember.objects.filter(council__cycle=cycle, user=user)
        .select_related("department")
        .first()
    )
    if seat is None:
        if not Council.objects.filter(cycle=cycle).exists():
            return _("Record the appraisal council first: only its people appraise.")
        return _("%(name)s is not on the appraisal council or its support team.") % {
            "name": display_name(user)
        }
    if seat.role == CouncilMember.Role.SUPPORT:
        return ""
    if (
        seat.department is None
        or not CouncilArea.objects.filter(
            council__cycle=cycle, area_code=area_code, department=seat.department
        ).exists()
    ):
        return _(
            "Area %(area)s is not assigned to %(department)s, the department %(name)s represents."
        ) % {
            "area": area_code,
            "department": seat.department.name if seat.department else _("no department"),
            "name": display_name(user),
        }
    return ""
