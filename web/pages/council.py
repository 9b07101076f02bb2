"""The appraisal council page: the decision forming it, its people, and the areas of each
member department. Read model only; the writes are `workflow.council`'s."""

from __future__ import annotations

from dataclasses import dataclass, field

from cases.models import Council, CouncilArea, CouncilMember, Cycle, Unit
from cases.users import display_name
from workflow import council as services


@dataclass
class MemberRow:
    member: CouncilMember
    name: str


@dataclass
class AreaRow:
    code: str
    rows: list[CouncilArea]
    people: list[str]


@dataclass
class CouncilPage:
    cycle: Cycle
    council: Council | None
    members: list[MemberRow]
    departments: list[Unit]
    represented: list[Unit]
    areas: list[AreaRow]
    roles: list[tuple[str, str]]
    errors: dict[str, list[str]] = field(default_factory=dict)
    posted: dict[str, str] = field(default_factory=dict)

    @property
    def is_closed(self) -> bool:
        return self.cycle.status == Cycle.Status.PUBLISHED


ROLE_ORDER = {role: n for n, role in enumerate(CouncilMember.Role.values)}


def council_page(cycle: Cycle) -> CouncilPage:
    council = Council.objects.filter(cycle=cycle).first()
    members = sorted(
        CouncilMember.objects.filter(council__cycle=cycle).select_related("user", "department"),
        key=lambda m: (ROLE_ORDER[m.role], display_name(m.user)),
    )
    represented = {m.department.pk: m.department for m in members if m.department is not None}
    held: dict[str, list[CouncilArea]] = {}
    for row in CouncilArea.objects.filter(council__cycle=cycle).select_related("department"):
        held.setdefault(row.area_code, []).append(row)
    names = {m.user_id: display_name(m.user) for m in members}
    people: dict[str, list[str]] = {}
    for area, user_id in cycle.assignments.order_by("pk").values_list("area_code", "user_id"):
        people.setdefault(area, []).append(names.get(user_id, ""))
    return CouncilPage(
        cycle=cycle,
        council=council,
        members=[MemberRow(m, names[m.user_id]) for m in members],
        departments=list(Unit.objects.filter(is_active=True).order_by("group__code", "code")),
        represented=sorted(represented.values(), key=lambda u: u.code),
        areas=[
            AreaRow(
                code=code, rows=held.get(code, []), people=[p for p in people.get(code, []) if p]
            )
            for code in services.area_codes(cycle)
        ],
        roles=[(str(v), str(label)) for v, label in CouncilMember.Role.choices],
    )
