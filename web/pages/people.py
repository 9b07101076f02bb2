"""The secretariat's units and accounts page: read model only.

The writes are `workflow.people` (import, invitations, deactivation, renaming, merging),
which checks the permission and audits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Count, Prefetch

from cases import permissions
from cases.models import Membership, Unit, UnitGroup, UnitLineage
from cases.people import PROVINCE_ROLES
from cases.users import User, display_name


@dataclass(frozen=True)
class Person:
    user: User
    name: str
    units: list[tuple[str, str]]  # (unit code, role label)
    invited: bool  # no password of their own yet
    roles: list[str] = field(default_factory=list)  # labels of the whole province's roles

    @property
    def status(self) -> str:
        if not self.user.is_active:
            return "deactivated"
        return "invited" if self.invited else "active"


@dataclass
class PeoplePage:
    groups: list[UnitGroup]
    units: Sequence[Unit]
    people: list[Person]
    lineage: list[UnitLineage] = field(default_factory=list)


def people_page() -> PeoplePage:
    """Every unit (with how many people it has) and every account that is not a built-in
    actor, the active first."""
    units = list(
        Unit.objects.select_related("group", "parent")
        .annotate(people=Count("memberships__user", distinct=True))
        .order_by("-is_active", "group__code", "code")
    )
    memberships = Prefetch(
        "memberships",
        queryset=Membership.objects.select_related("unit").order_by("unit__code", "role"),
    )
    users = (
        User.objects.exclude(username=permissions.SYSTEM)
        .exclude(username="AnonymousUser")
        .prefetch_related(memberships, "groups")
        .order_by("-is_active", "last_name", "first_name", "username")
    )
    people = [
        Person(
            user=user,
            name=display_name(user),
            units=[(m.unit.code, str(m.get_role_display())) for m in user.memberships.all()],
            invited=not user.has_usable_password(),
            roles=[
                str(PROVINCE_ROLES[g.name]) for g in user.groups.all() if g.name in PROVINCE_ROLES
            ],
        )
        for user in users
    ]
    lineage = list(
        UnitLineage.objects.select_related("predecessor", "successor").order_by(
            "-effective_date", "-pk"
        )
    )
    return PeoplePage(
        groups=list(UnitGroup.objects.order_by("code")),
        units=units,
        people=people,
        lineage=lineage,
    )
