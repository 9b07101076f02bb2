"""The secretariat's units and accounts page: import the workbook, see what it refused where,
deactivate and reactivate people, rename and merge units."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from types import SimpleNamespace
from typing import Any

from django.contrib.auth.models import User
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cases.models import Membership, Unit, UnitGroup, UnitLineage
from tests.helpers import people_workbook
from tests.web.html import Page
from workflow import audit
from workflow.models import AuditEntry

SignedIn = Callable[[User], Client]


def _state() -> tuple[Any, ...]:
    return (
        sorted(Unit.objects.values_list("code", "name", "is_active")),
        sorted(User.objects.values_list("username", "is_active")),
        Membership.objects.count(),
        UnitLineage.objects.count(),
        AuditEntry.objects.count(),
    )


def _upload(content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("don-vi.xlsx", content)


def test_the_secretariat_imports_the_workbook_from_the_page(
    world: SimpleNamespace, signed_in: SignedIn, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in(world.secretariat)
    page = client.get("/people/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/people/"' in html  # in the menu
    assert "/api/v1/units/template.xlsx" in html
    content = people_workbook(
        [("XMOI", "Xã Mới", "khoi_so", None, None)],
        [("Phạm Thị Dung", "dung@xamoi.gov.vn", "XMOI", "Thủ trưởng")],
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/people/", {"file": _upload(content)}, follow=True)
    html = response.content.decode()
    assert "Đã nhập “don-vi.xlsx”: 1 đơn vị mới" in html
    row = Page(html).id(f"person-{User.objects.get(username='dung@xamoi.gov.vn').pk}")
    assert row["data-status"] == "invited"
    assert "XMOI (Thủ trưởng đơn vị)" in row.text
    assert [m.to for m in mail.outbox] == [["dung@xamoi.gov.vn"]]


def test_a_refused_workbook_is_listed_by_sheet_row_and_column_and_nothing_changes(
    world: SimpleNamespace, signed_in: SignedIn
) -> None:
    before = _state()
    content = people_workbook([], [("An", "an@x.vn", "KHONGCO", "Cán bộ")])
    response = signed_in(world.secretariat).post("/people/", {"file": _upload(content)})
    assert response.status_code == 400
    rows = Page(response).all("tr", data_sheet="Tài khoản", data_row="2", data_column="C")
    assert [r.text for r in rows] == [
        "Tài khoản2Ckhông có đơn vị mã “KHONGCO” trong tệp này hay trong hệ thống."
    ]
    assert _state() == before
    nothing = signed_in(world.secretariat).post("/people/", {})
    assert nothing.status_code == 400
    assert "Hãy chọn bảng tính (.xlsx) để nhập." in nothing.content.decode()


def test_the_secretariat_deactivates_and_reactivates_a_person(
    world: SimpleNamespace, signed_in: SignedIn
) -> None:
    client = signed_in(world.secretariat)
    response = client.post(f"/people/{world.staff_a.pk}/deactivate/", {"reason": "Chuyển công tác"})
    assert response.status_code == 302
    world.staff_a.refresh_from_db()
    assert not world.staff_a.is_active
    row = Page(client.get("/people/")).id(f"person-{world.staff_a.pk}")
    assert row["data-status"] == "deactivated"
    client.post(f"/people/{world.staff_a.pk}/reactivate/")
    world.staff_a.refresh_from_db()
    assert world.staff_a.is_active
    # Its own account offers no deactivation, and refuses it when asked anyway.
    page = client.get("/people/").content.decode()
    assert f'action="/people/{world.secretariat.pk}/deactivate/"' not in page
    before = _state()
    refused = client.post(f"/people/{world.secretariat.pk}/deactivate/", follow=True)
    assert "Bạn không thể tự khóa tài khoản của mình." in refused.content.decode()
    assert _state() == before


def test_a_unit_in_an_open_cycle_is_not_renamed_and_the_page_says_why(
    world: SimpleNamespace, signed_in: SignedIn
) -> None:
    before = _state()
    response = signed_in(world.secretariat).post(
        f"/units/{world.unit_a.pk}/rename/", {"new_code": "STP2", "new_name": "Sở Tư pháp mới"}
    )
    assert response.status_code == 409
    error = Page(response).id("rename-error")
    assert "chưa công bố" in error.text
    assert _state() == before


def test_the_secretariat_renames_and_merges_units_from_the_pages(
    world: SimpleNamespace, signed_in: SignedIn
) -> None:
    group = UnitGroup.objects.get(code="khoi_so")
    one = Unit.objects.create(code="SCU1", name="Sở Cũ Một", group=group)
    Unit.objects.create(code="SCU2", name="Sở Cũ Hai", group=group)
    client = signed_in(world.secretariat)
    assert client.get(f"/units/{one.pk}/rename/").status_code == 200
    renamed = client.post(
        f"/units/{one.pk}/rename/",
        {
            "kind": "decision",
            "new_code": "SMOT",
            "new_name": "Sở Một",
            "effective_date": "01/07/2026",
        },
    )
    assert renamed.status_code == 302
    link = UnitLineage.objects.get(predecessor=one)
    assert (link.successor.code, link.effective_date) == ("SMOT", date(2026, 7, 1))
    merged = client.post(
        "/units/merge/",
        {"units": ["SMOT", "SCU2"], "into_code": "SGOP", "into_name": "Sở Gộp"},
        follow=True,
    )
    assert "Các đơn vị đã được sáp nhập vào SGOP – Sở Gộp." in merged.content.decode()
    lineage = Page(merged).id("lineage")
    assert "SCU2 – Sở Cũ Hai → SGOP – Sở Gộp" in lineage.text
    before = _state()
    bad_date = client.post(
        "/units/merge/", {"units": ["SGOP"], "into_code": "X", "effective_date": "31/02/2026"}
    )
    assert bad_date.status_code == 400
    assert _state() == before


def test_the_page_asks_the_same_number_of_queries_however_many_people(
    world: SimpleNamespace, signed_in: SignedIn, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(world.secretariat)
    client.get("/people/")  # the session and the role cache warm
    for n in range(30):
        user = User.objects.create_user(f"p{n}@x.vn")
        Membership.objects.create(user=user, unit=world.unit_b, role="staff")
    with django_assert_max_num_queries(12):
        assert client.get("/people/").status_code == 200


def test_a_misspelt_unit_name_is_corrected_in_place_even_while_the_unit_is_assessed(
    world: SimpleNamespace, signed_in: SignedIn
) -> None:
    """A spelling correction keeps the unit (its case, people and past years); only a name
    changed by decision makes a new unit that continues the old one."""
    client = signed_in(world.secretariat)
    form = Page(client.get(f"/units/{world.unit_a.pk}/rename/"))
    assert form.first_or_none("input", name="kind", value="correction") is not None
    assert form.first_or_none("input", name="kind", value="decision") is not None

    response = client.post(
        f"/units/{world.unit_a.pk}/rename/",
        {"kind": "correction", "new_name": "Sở  Tư pháp tỉnh ", "note": "sửa lỗi chính tả"},
    )

    assert response.status_code == 302
    unit = Unit.objects.get(pk=world.unit_a.pk)
    assert (unit.code, unit.name, unit.is_active) == ("STP", "Sở Tư pháp tỉnh", True)
    assert UnitLineage.objects.count() == 0
    assert world.staff_a.memberships.get().unit == unit
    entry = AuditEntry.objects.get(action=audit.UNIT_NAME_CORRECTED)
    assert (entry.actor, entry.object_id) == (world.secretariat, str(unit.pk))
    assert (entry.before, entry.after) == ({"name": "Sở Tư pháp"}, {"name": "Sở Tư pháp tỉnh"})
    assert entry.comment == "sửa lỗi chính tả"


def test_a_correction_without_a_new_name_is_refused_and_changes_nothing(
    world: SimpleNamespace, signed_in: SignedIn
) -> None:
    before = _state()
    for name in ("", "Sở Tư pháp"):
        response = signed_in(world.secretariat).post(
            f"/units/{world.unit_a.pk}/rename/", {"kind": "correction", "new_name": name}
        )
        assert response.status_code == 400
        assert Page(response).id_or_none("rename-error") is not None
    assert _state() == before
