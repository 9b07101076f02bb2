"""A province of any size for the query-count tests: for each block, N units and a
framework of L manual leaves in four areas, with a head for its first unit."""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib.auth.models import Group, User
from django.utils import timezone

from bench.common import manual_framework
from cases import frameworks
from cases.models import Case, Cycle, Unit, UnitGroup
from cases.permissions import SECRETARIAT, ensure_role_groups
from workflow import cycle_services


def province(**blocks: tuple[int, int]) -> SimpleNamespace:
    """province(small=(units, leaves), big=(units, leaves)) → secretariat, cycle, and for
    each block `<name>_case` and `<name>_head`."""
    ensure_role_groups()
    w = SimpleNamespace()
    w.secretariat = User.objects.create_user("secretariat")
    w.secretariat.groups.add(Group.objects.get(name=SECRETARIAT))
    today = timezone.localdate()
    w.cycle = Cycle.objects.create(
        year=today.year,
        title="Đợt thử",
        authority="UBND",
        self_assessment_due=today.replace(year=today.year + 1),
        appraisal_due=today.replace(year=today.year + 2),
    )
    firsts = {}
    for name, (units, leaves) in blocks.items():
        group = UnitGroup.objects.create(code=name, name=f"Khối {name}")
        created = Unit.objects.bulk_create(
            [Unit(code=f"{name}{i:04}", name=f"Đơn vị {i}", group=group) for i in range(units)]
        )
        frameworks.load(manual_framework(leaves), cycle=w.cycle, unit_group=group)
        head = User.objects.create_user(f"{name}.head")
        cycle_services.add_membership(head, created[0], "head", actor=w.secretariat)
        setattr(w, f"{name}_head", head)
        firsts[name] = created[0]
    cycle_services.open_cycle(w.cycle.pk, actor=w.secretariat)
    for name, unit in firsts.items():
        setattr(w, f"{name}_case", Case.objects.get(cycle=w.cycle, unit=unit))
    return w
