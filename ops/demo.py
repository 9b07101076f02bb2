"""Demo data: a realistic province with its departments and communes, one account per role.

Idempotent: running it twice changes nothing. Used by `seed_demo`, the benchmarks and the
browser tests. Accounts all share the password DEMO_PASSWORD (default demo12345).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import transaction

from cases import frameworks
from cases.models import Council, CouncilMember, Cycle, Framework, Membership, Unit, UnitGroup
from cases.permissions import AUDITOR, LEADER, SECRETARIAT, ensure_role_groups
from workflow import council
from workflow.cycle_services import add_membership, assign_appraiser, open_cycle

AUTHORITY = "UBND tỉnh Sơn Hà"

DEPARTMENTS = [
    ("SNV", "Sở Nội vụ"),
    ("STP", "Sở Tư pháp"),
    ("STC", "Sở Tài chính"),
    ("SKHCN", "Sở Khoa học và Công nghệ"),
    ("SCT", "Sở Công Thương"),
    ("SGDDT", "Sở Giáo dục và Đào tạo"),
    ("SYT", "Sở Y tế"),
    ("SXD", "Sở Xây dựng"),
    ("SNNMT", "Sở Nông nghiệp và Môi trường"),
    ("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch"),
    ("SDTTG", "Sở Dân tộc và Tôn giáo"),
    ("SNGV", "Sở Ngoại vụ"),
    ("TTT", "Thanh tra tỉnh"),
    ("VPUBND", "Văn phòng UBND tỉnh"),
    ("BQLKKT", "Ban Quản lý Khu kinh tế"),
    ("DPTTH", "Đài Phát thanh và Truyền hình tỉnh"),
    ("BQLDA", "Ban Quản lý dự án đầu tư xây dựng tỉnh"),
    ("QDTPT", "Quỹ Đầu tư phát triển tỉnh"),
    ("LMHTX", "Liên minh Hợp tác xã tỉnh"),
    ("TCDSH", "Trường Cao đẳng Sơn Hà"),
]
COMMUNES = [
    ("PSONHA", "Phường Sơn Hà"),
    ("PBACHDANG", "Phường Bạch Đằng"),
    ("PHOABINH", "Phường Hòa Bình"),
    ("XANLAC", "Xã An Lạc"),
    ("XDONGTIEN", "Xã Đồng Tiến"),
    ("XTANLAP", "Xã Tân Lập"),
    ("XPHUMY", "Xã Phú Mỹ"),
    ("XHOANGHOA", "Xã Hoằng Hóa"),
    ("XNGHIAHUNG", "Xã Nghĩa Hưng"),
    ("XTHANHSON", "Xã Thanh Sơn"),
    ("XQUANGTRUNG", "Xã Quảng Trung"),
    ("DKCONSON", "Đặc khu Côn Sơn"),
]
# The council is formed by a decision of the chair each year; the demo's two appraisers are
# its support team, who may appraise any area.
COUNCIL_DECISION = "01/QĐ-HĐTĐ"
APPRAISER_AREAS = {"appraiser1": ["1", "2", "3", "4"], "appraiser2": ["5", "6", "7", "8", "9"]}


@lru_cache(maxsize=1)
def _demo_password_hash() -> str:
    """Hash the shared demo password once, not per account: the hash is slow on purpose."""
    return make_password(settings.DEMO_PASSWORD)


def _user(username: str, first_name: str, last_name: str = "") -> User:
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first_name,
            "last_name": last_name,
            "email": f"{username}@demo.local",
        },
    )
    if created:
        user.password = _demo_password_hash()
        user.save(update_fields=["password"])
    return user


def seed(today: date | None = None) -> Cycle:
    """Build (or complete) the demo province; returns its open cycle."""
    cycle, secretariat = _build(today or date.today())
    if cycle.status == Cycle.Status.DRAFT:
        open_cycle(cycle.pk, actor=secretariat)
        cycle.refresh_from_db()
    return cycle


@transaction.atomic
def _build(today: date) -> tuple[Cycle, User]:
    ensure_role_groups()
    secretariat = _user("secretariat", "Thư ký", "Sở Nội vụ")
    secretariat.is_staff = True
    secretariat.save(update_fields=["is_staff"])
    secretariat.groups.add(Group.objects.get(name=SECRETARIAT))
    _user("leader", "Chủ tịch", "Hội đồng").groups.add(Group.objects.get(name=LEADER))
    _user("auditor", "Thanh tra", "viên").groups.add(Group.objects.get(name=AUDITOR))

    so, _c = UnitGroup.objects.get_or_create(
        code="khoi_so", defaults={"name": "Khối sở, ban, ngành"}
    )
    xa, _c = UnitGroup.objects.get_or_create(
        code="khoi_xa", defaults={"name": "Khối xã, phường, đặc khu"}
    )
    units = []
    for group, rows in ((so, DEPARTMENTS), (xa, COMMUNES)):
        for code, name in rows:
            unit, _c = Unit.objects.get_or_create(
                code=code, defaults={"name": name, "group": group}
            )
            units.append(unit)

    cycle, _c = Cycle.objects.get_or_create(
        year=today.year,
        authority=AUTHORITY,
        defaults={
            "title": f"Đánh giá Chỉ số CCHC năm {today.year}",
            "self_assessment_due": today + timedelta(days=7),
            "appraisal_due": today + timedelta(days=60),
            "publication_target": today + timedelta(days=90),
        },
    )
    for group, level in ((so, "khoi_so"), (xa, "khoi_xa")):
        if not Framework.objects.filter(cycle=cycle, unit_group=group).exists():
            frameworks.load_builtin(level, cycle=cycle, unit_group=group)
    for unit in units:
        for role in (Membership.Role.STAFF, Membership.Role.HEAD):
            label = "Chuyên viên" if role == Membership.Role.STAFF else "Thủ trưởng"
            user = _user(f"{unit.code.lower()}.{role}", label, unit.name)
            if not Membership.objects.filter(user=user, unit=unit, role=role).exists():
                add_membership(user, unit, role, actor=secretariat)
    if not Council.objects.filter(cycle=cycle).exists():
        signed = min(today, date.today())  # a decision is never dated in the future
        council.form_council(cycle.pk, COUNCIL_DECISION, signed, actor=secretariat)
    for username, areas in APPRAISER_AREAS.items():
        user = _user(username, "Thành viên", f"Hội đồng thẩm định ({username[-1]})")
        if not CouncilMember.objects.filter(council__cycle=cycle, user=user).exists():
            council.add_member(cycle.pk, user.pk, CouncilMember.Role.SUPPORT, actor=secretariat)
        for area in areas:
            assign_appraiser(cycle, user, area, actor=secretariat)
    return cycle, secretariat
