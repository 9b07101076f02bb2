"""The secretariat keeps the units and accounts: the workbook import (all rows or none, each
problem by sheet, row and column), invitations through Django's password-reset links,
deactivation, renaming and merging with the lineage the results follow."""

from __future__ import annotations

import io
import re
import zipfile
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from openpyxl.utils import get_column_letter
from rest_framework.authtoken.models import Token

from cases import people, permissions
from cases.errors import DomainError, InvalidInput, NotAllowed, WrongState
from cases.models import Case, Membership, Unit, UnitGroup, UnitLineage
from results.history import lineage_of
from tests.factories import PASSWORD
from tests.helpers import api, people_workbook
from workflow import audit
from workflow import people as people_services
from workflow.models import AuditEntry

UNITS = [
    ("XTHU", "Xã Thử Nghiệm", "khoi_xa_moi", "Khối xã mới", None),
    ("XTHU.VH", "Phòng Văn hóa xã Thử Nghiệm", "khoi_xa_moi", None, "XTHU"),
    ("STP", "Sở Tư pháp", "khoi_so", None, None),  # already there, unchanged
]
ACCOUNTS = [
    ("Nguyễn Văn An", "an.nv@xathu.gov.vn", "XTHU", "Cán bộ"),
    ("Trần Thị Bình", "Binh.TT@xathu.gov.vn", "XTHU", "Thủ trưởng"),
    ("Lê Văn Cường", "cuong@stp.gov.vn", "STP", "Công chức phụ trách CCHC"),
]


def _everything() -> tuple[Any, ...]:
    """What an import may change, to show that a refused one changed nothing."""
    return (
        sorted(UnitGroup.objects.values_list("code", "name")),
        sorted(Unit.objects.values_list("code", "name", "is_active", "parent__code")),
        sorted(User.objects.values_list("username", "is_active", "password")),
        sorted(Membership.objects.values_list("user__username", "unit__code", "role")),
        AuditEntry.objects.count(),
        len(mail.outbox),
    )


def _post(user: User, content: bytes, name: str = "don-vi.xlsx") -> Any:
    return api(user).post(
        "/api/v1/units/import/", {"file": SimpleUploadedFile(name, content)}, format="multipart"
    )


def _signs_in(username: str, password: str) -> bool:
    """Through the sign-in form, as a person does (its lockout checks included)."""
    response = Client().post("/login/", {"username": username, "password": password})
    return response.status_code == 302


def _link(message: Any) -> str:
    found = re.search(r"https?://\S+/invitation/\S+/", message.body)
    assert found, message.body
    return found.group(0)


def test_secretariat_imports_units_and_accounts_and_each_new_account_is_invited(
    world: SimpleNamespace, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.SITE_URL = "https://cchc.example.gov.vn:8443"
    last = AuditEntry.objects.latest("pk").pk
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(world.secretariat, people_workbook(UNITS, ACCOUNTS))
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "filename": "don-vi.xlsx",
        "sha256": response.json()["sha256"],
        "groups_created": 1,
        "units_created": 2,
        "units_unchanged": 1,
        "accounts_created": 3,
        "memberships_added": 3,
        "invitations_sent": 3,
    }
    child = Unit.objects.get(code="XTHU.VH")
    assert child.parent is not None and child.parent.code == "XTHU"
    assert child.group.name == "Khối xã mới"
    binh = User.objects.get(username="binh.tt@xathu.gov.vn")
    assert binh.get_full_name() == "Trần Thị Bình"
    assert not binh.has_usable_password()  # nobody was given a password
    assert set(Membership.objects.filter(user=binh).values_list("unit__code", "role")) == {
        ("XTHU", "head")
    }
    assert Membership.objects.filter(user__username="cuong@stp.gov.vn", unit=world.unit_a).exists()
    # The new STP member may open STP's case at once.
    cuong = User.objects.get(username="cuong@stp.gov.vn")
    assert api(cuong).get(f"/api/v1/cases/{world.case_a.pk}/").status_code == 200

    assert sorted(m.to[0] for m in mail.outbox) == [
        "an.nv@xathu.gov.vn",
        "binh.tt@xathu.gov.vn",
        "cuong@stp.gov.vn",
    ]
    message = next(m for m in mail.outbox if m.to == ["binh.tt@xathu.gov.vn"])
    assert "Trần Thị Bình" in message.body and "binh.tt@xathu.gov.vn" in message.body
    link = _link(message)
    assert link.startswith("https://cchc.example.gov.vn:8443/invitation/")

    actions = list(AuditEntry.objects.filter(pk__gt=last).values_list("action", flat=True))
    assert actions.count(audit.ACCOUNT_CREATED) == 3
    assert actions.count(audit.ACCOUNT_INVITED) == 0  # the creation says it was invited
    assert actions.count(audit.MEMBERSHIP_ADDED) == 0  # ... and names its unit and role
    assert actions.count(audit.UNIT_CREATED) == 2
    assert actions.count(audit.UNIT_GROUP_CREATED) == 1
    assert actions.count(audit.PEOPLE_IMPORTED) == 1
    entry = AuditEntry.objects.get(action=audit.PEOPLE_IMPORTED)
    assert entry.actor == world.secretariat
    created = AuditEntry.objects.get(action=audit.ACCOUNT_CREATED, object_id=str(binh.pk))
    assert created.actor == world.secretariat
    assert created.data == {
        "user": "binh.tt@xathu.gov.vn",
        "name": "Trần Thị Bình",
        "email": "binh.tt@xathu.gov.vn",
        "units": [{"unit": "XTHU", "role": "head"}],
        "invited": True,
    }


PROVINCE_ACCOUNTS = [
    ("Phạm Văn Chủ", "chutich@tinh.gov.vn", None, "Chủ tịch UBND tỉnh"),
    ("Võ Thị Tra", "thanhtra@tinh.gov.vn", "", "Thanh tra"),
    ("Đỗ Văn Nội", "noivu2@tinh.gov.vn", None, "Sở Nội vụ"),
]


def test_the_secretariat_gives_the_chair_the_inspection_and_a_colleague_their_accounts(
    world: SimpleNamespace, django_capture_on_commit_callbacks: Any
) -> None:
    """On an empty installation nobody but the first secretariat account exists: the chair who
    publishes, the inspection and the other officials of Sở Nội vụ come with the same workbook,
    without a unit, each invited to set a password."""
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(world.secretariat, people_workbook([], PROVINCE_ACCOUNTS))
    assert response.status_code == 201, response.json()
    assert response.json()["accounts_created"] == 3
    assert response.json()["memberships_added"] == 0
    roles = {
        user.username: (set(user.groups.values_list("name", flat=True)), user.is_staff)
        for user in User.objects.filter(username__endswith="@tinh.gov.vn")
    }
    assert roles == {
        "chutich@tinh.gov.vn": ({permissions.LEADER}, False),
        "thanhtra@tinh.gov.vn": ({permissions.AUDITOR}, False),
        "noivu2@tinh.gov.vn": ({permissions.SECRETARIAT}, True),
    }
    assert not Membership.objects.filter(user__username__endswith="@tinh.gov.vn").exists()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r[1] for r in PROVINCE_ACCOUNTS)
    chair = User.objects.get(username="chutich@tinh.gov.vn")
    assert permissions.has_global(chair, "publish_case")
    created = AuditEntry.objects.get(action=audit.ACCOUNT_CREATED, object_id=str(chair.pk))
    assert (created.data["role"], created.data["units"]) == (permissions.LEADER, [])
    # The page lists each with the role's name.
    secretariat = Client()
    secretariat.force_login(world.secretariat)
    page = secretariat.get("/people/").content.decode()
    assert "Thanh tra, kiểm tra (chỉ xem)" in page
    assert "Chủ tịch Hội đồng thẩm định / Chủ tịch UBND tỉnh" in page


def test_a_role_group_deleted_by_hand_is_made_again_when_an_account_needs_it(
    world: SimpleNamespace,
) -> None:
    Group.objects.filter(name=permissions.AUDITOR).delete()
    response = _post(world.secretariat, people_workbook([], PROVINCE_ACCOUNTS[1:2]))
    assert response.status_code == 201, response.json()
    inspector = User.objects.get(username="thanhtra@tinh.gov.vn")
    assert permissions.has_global(inspector, "view_audit")


@pytest.mark.parametrize("language", ["vi", "en"])
def test_each_province_role_is_read_from_its_label_as_the_template_names_it(language: str) -> None:
    with translation.override(language):
        labels = {role: str(label) for role, label in people.PROVINCE_ROLES.items()}
    for role, label in labels.items():
        assert people._province_role(label) == role, label


def test_a_role_of_the_whole_province_with_a_unit_or_for_an_existing_account_is_refused(
    world: SimpleNamespace,
) -> None:
    accounts = [
        ("Phạm Văn Chủ", "chutich@tinh.gov.vn", "STP", "Chủ tịch UBND tỉnh"),  # with a unit
        ("Trần Văn Staff", "stp.staff@example.test", None, "Thanh tra"),  # an existing account
        ("Lê Thị Ba", "ba@tinh.gov.vn", None, "Cán bộ"),  # a unit's role without its unit
    ]
    before = _everything()
    response = _post(world.secretariat, people_workbook([], accounts))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors == [
        "Trang “Tài khoản”, dòng 2, cột C (Mã đơn vị): để trống đơn vị: “Chủ tịch Hội đồng "
        "thẩm định / Chủ tịch UBND tỉnh” là vai trò của cả tỉnh.",
        "Trang “Tài khoản”, dòng 3, cột B (Email): tài khoản stp.staff@example.test đã có: vai "
        "trò của cả tỉnh chỉ được giao cho tài khoản mới.",
        "Trang “Tài khoản”, dòng 4, cột C (Mã đơn vị): mã đơn vị để trống.",
    ]
    assert _everything() == before


def test_the_invitation_link_sets_the_password_once(
    world: SimpleNamespace, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _post(world.secretariat, people_workbook(UNITS[:1], ACCOUNTS[:1]))
    path = _link(mail.outbox[0]).split("://", 1)[1].split("/", 1)[1]
    browser = Client()
    form = browser.get("/" + path, follow=True)
    assert form.status_code == 200
    assert "an.nv@xathu.gov.vn" in form.content.decode()
    new_password = "Cải-cách-2026!"
    done = browser.post(
        form.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert done.status_code == 302 and done["Location"] == "/login/"
    user = User.objects.get(username="an.nv@xathu.gov.vn")
    assert user.check_password(new_password)
    assert AuditEntry.objects.filter(action=audit.ACCOUNT_PASSWORD_SET, actor=user).count() == 1
    # Used once: the same link no longer sets anything.
    again = Client().get("/" + path, follow=True)
    assert "invitation-invalid" in again.content.decode()
    assert _signs_in("an.nv@xathu.gov.vn", new_password)


def test_a_refused_file_names_every_problem_by_sheet_row_and_column_and_changes_nothing(
    world: SimpleNamespace, django_capture_on_commit_callbacks: Any
) -> None:
    units = [
        ("XMOI", "Xã Mới", "khoi_xa", None, None),  # unknown group without its name
        ("XMOI", "Xã Mới lần hai", "khoi_so", None, None),  # duplicate code
        ("XHAI", "", "khoi_so", None, "KHONGCO"),  # name missing, unknown parent
        ("STC", "Sở Tài chính tỉnh", "khoi_so", None, None),  # exists with another name
    ]
    accounts = [
        ("Nguyễn Văn An", "an@x.gov.vn", "XKHAC", "Cán bộ"),  # unknown unit
        ("Nguyễn Văn Ba", "AN@x.gov.vn", "STP", "Cán bộ"),  # duplicate e-mail
        ("Nguyễn Văn Bốn", "khong-phai-email", "STP", "Giám đốc"),  # bad e-mail and role
        ("", "nam@x.gov.vn", "STP", "Cán bộ"),  # name missing
        ("Kiểm Toán", "auditor@example.test", "STP", "Cán bộ"),  # the auditor: no case role
    ]
    before = _everything()
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(world.secretariat, people_workbook(units, accounts))
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Tệp chưa được nhập: hãy sửa các lỗi sau rồi nhập lại."
    errors = body["errors"]
    expected = [
        "Trang “Đơn vị”, dòng 2, cột C (Mã khối): chưa có khối “khoi_xa”",
        "Trang “Đơn vị”, dòng 3, cột A (Mã đơn vị): mã đơn vị “XMOI” đã có ở dòng 2.",
        "Trang “Đơn vị”, dòng 4, cột B (Tên đơn vị): tên đơn vị đang để trống.",
        "Trang “Đơn vị”, dòng 4, cột E (Mã đơn vị cấp trên): không có đơn vị mã “KHONGCO”",
        "Trang “Đơn vị”, dòng 5, cột A (Mã đơn vị): đơn vị STC đã có và tên là “Sở Tài chính”",
        "Trang “Tài khoản”, dòng 2, cột C (Mã đơn vị): không có đơn vị mã “XKHAC”",
        "Trang “Tài khoản”, dòng 3, cột B (Email): e-mail an@x.gov.vn đã có ở dòng 2.",
        "Trang “Tài khoản”, dòng 4, cột B (Email): “khong-phai-email” không phải là địa chỉ e-mail.",
        "Trang “Tài khoản”, dòng 4, cột D (Vai trò): “Giám đốc” không phải là vai trò",
        "Trang “Tài khoản”, dòng 5, cột A (Họ và tên): họ và tên đang để trống.",
        "Trang “Tài khoản”, dòng 6, cột B (Email): auditor",
    ]
    assert len(errors) == len(expected), errors
    for text, error in zip(expected, errors, strict=True):
        assert error.startswith(text), (text, error)
    assert _everything() == before


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "a.xlsx", "Tệp không có nội dung."),
        (b"Ma don vi;Ten don vi\nX;Y\n", "a.xlsx", "không phải là bảng tính Excel (.xlsx)"),
        (b"PK\x03\x04 not really a zip", "a.xlsx", "không phải là bảng tính Excel (.xlsx)"),
    ],
)
def test_a_file_that_is_not_a_workbook_is_refused(
    world: SimpleNamespace, content: bytes, name: str, message: str
) -> None:
    before = _everything()
    response = _post(world.secretariat, content, name)
    assert response.status_code == 400
    assert message in " ".join(response.json()["errors"] or [response.json()["detail"]])
    assert _everything() == before


def test_a_workbook_with_too_many_rows_is_refused_without_reading_on(
    world: SimpleNamespace,
) -> None:
    from cases.people import MAX_ROWS

    accounts: list[tuple[Any, ...]] = [()] * (MAX_ROWS + 5) + [("A", "a@x.vn", "STP", "Cán bộ")]
    before = _everything()
    response = _post(world.secretariat, people_workbook([], accounts))
    assert response.status_code == 400
    assert response.json()["errors"] == [f"Trang “Tài khoản”: trang tính có hơn {MAX_ROWS} dòng."]
    assert _everything() == before


def _million_empty_cells() -> bytes:
    """The template's workbook whose accounts sheet holds 1 000 × 1 000 empty formatted
    cells: small packed, only its unpacked size gives it away."""
    base = people_workbook([], [])
    cells = "".join(f'<c r="{get_column_letter(c)}{{r}}" s="0"/>' for c in range(1, 1001))
    rows = "".join(f'<row r="{r}">{cells.format(r=r)}</row>' for r in range(1, 1001))
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        f'.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>'
    )
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(base)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, sheet if item.filename == "xl/worksheets/sheet2.xml" else data)
    return out.getvalue()


def test_a_workbook_of_a_million_empty_cells_is_refused_without_reading_it(
    world: SimpleNamespace,
) -> None:
    from cases.people import MAX_BYTES

    content = _million_empty_cells()
    assert len(content) < MAX_BYTES
    before = _everything()
    response = _post(world.secretariat, content)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "Các trang của bảng tính quá lớn (hơn 5000 dòng mỗi trang): chỉ giữ các bảng theo "
        "mẫu, không để ô trống có định dạng."
    ]
    assert _everything() == before


def test_a_unit_created_meanwhile_by_someone_else_refuses_the_whole_file(
    world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = people_services.people.parse

    def checked_then_taken(content: bytes) -> Any:
        plan = checked(content)
        # Between this file's checks and its writes, another import commits XTHU.
        Unit.objects.create(code="XTHU", name="Xã khác", group=world.group)
        return plan

    monkeypatch.setattr(people_services.people, "parse", checked_then_taken)
    before = _everything()
    response = _post(world.secretariat, people_workbook(UNITS, ACCOUNTS))
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "Trong lúc nhập, người khác đã tạo một số đơn vị hoặc tài khoản có trong tệp này: "
        "hãy nhập lại."
    )
    assert _everything() == before


def test_a_missing_column_is_named(world: SimpleNamespace) -> None:
    before = _everything()
    content = people_workbook(
        [], [("A", "STP", "Cán bộ")], accounts_header=("Họ và tên", "Mã đơn vị", "Vai trò")
    )
    response = _post(world.secretariat, content)
    assert response.status_code == 400
    assert response.json()["errors"] == ["Trang “Tài khoản”, dòng 1: thiếu cột “Thư điện tử”."]
    assert _everything() == before


def test_an_existing_account_is_added_to_the_unit_without_a_new_account_or_invitation(
    world: SimpleNamespace, django_capture_on_commit_callbacks: Any
) -> None:
    accounts = [("Stc Staff", "STC.STAFF@example.test", "STP", "Cán bộ")]
    last = AuditEntry.objects.latest("pk").pk
    users = User.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(world.secretariat, people_workbook([], accounts))
    assert response.status_code == 201
    assert response.json()["accounts_created"] == 0
    assert response.json()["memberships_added"] == 1
    assert User.objects.count() == users
    assert mail.outbox == []
    assert world.staff_b.memberships.filter(unit=world.unit_a, role="staff").exists()
    added = AuditEntry.objects.get(action=audit.MEMBERSHIP_ADDED, pk__gt=last)
    assert added.data == {"user": "stc.staff", "unit": "STP", "role": "staff"}
    # The same file again changes nothing more.
    again = _post(world.secretariat, people_workbook([], accounts))
    assert again.json()["memberships_added"] == 0


def test_only_the_secretariat_imports(world: SimpleNamespace) -> None:
    before = _everything()
    for user in (world.head_a, world.leader, world.auditor):
        response = _post(user, people_workbook(UNITS, ACCOUNTS))
        assert response.status_code == 403
    assert api(world.head_a).get("/api/v1/units/template.xlsx").status_code == 403
    assert _everything() == before


def test_the_template_is_the_workbook_the_import_reads(world: SimpleNamespace) -> None:
    import io

    from openpyxl import load_workbook

    response = api(world.secretariat).get("/api/v1/units/template.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    units, accounts = workbook.worksheets[:2]
    assert [c.value for c in units[1]] == [
        "Mã đơn vị",
        "Tên đơn vị",
        "Mã khối",
        "Tên khối",
        "Mã đơn vị cấp trên",
    ]
    assert [c.value for c in accounts[1]] == ["Họ và tên", "Thư điện tử", "Mã đơn vị", "Vai trò"]
    units.append(["XMAU", "Xã Mẫu", "khoi_so", None, None])
    accounts.append(["Người Mẫu", "mau@x.vn", "XMAU", "Cán bộ"])
    out = io.BytesIO()
    workbook.save(out)
    imported = _post(world.secretariat, out.getvalue())
    assert imported.status_code == 201, imported.json()
    assert imported.json()["units_created"] == 1


def test_the_english_template_reads_back_too(world: SimpleNamespace) -> None:
    content = people_workbook(
        [("XEN", "Commune EN", "khoi_so", None, None)],
        [("Anna Nguyen", "anna@x.vn", "XEN", "Unit head")],
        units_header=("Unit code", "Unit name", "Unit group code", "Unit group name", "Parent"),
        accounts_header=("Full name", "E-mail", "Unit code", "Role"),
    )
    response = _post(world.secretariat, content)
    assert response.status_code == 201, response.json()
    assert Membership.objects.get(user__username="anna@x.vn").role == "head"


def test_a_mail_server_that_is_down_leaves_the_import_and_the_invitation_can_be_sent_again(
    world: SimpleNamespace, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(world.secretariat, people_workbook(UNITS[:1], ACCOUNTS[:1]))
    assert response.status_code == 201
    user = User.objects.get(username="an.nv@xathu.gov.vn")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        people_services.invite(user.pk, actor=world.secretariat)
    assert [m.to for m in mail.outbox] == [["an.nv@xathu.gov.vn"]]
    assert (
        AuditEntry.objects.filter(action=audit.ACCOUNT_INVITED, object_id=str(user.pk)).count() == 1
    )


def test_an_account_with_a_password_is_not_invited_again(world: SimpleNamespace) -> None:
    before = _everything()
    with pytest.raises(WrongState):
        people_services.invite(world.staff_a.pk, actor=world.secretariat)
    assert _everything() == before


def test_a_deactivated_person_can_no_longer_sign_in_nor_use_a_token(
    world: SimpleNamespace,
) -> None:
    token = Token.objects.create(user=world.staff_a)
    people_services.deactivate(world.staff_a.pk, actor=world.secretariat, reason="Nghỉ hưu")
    assert not _signs_in("stp.staff", PASSWORD)
    response = Client().get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 401
    assert not Token.objects.filter(user=world.staff_a).exists()
    entry = AuditEntry.objects.get(action=audit.ACCOUNT_DEACTIVATED)
    assert entry.actor == world.secretariat and entry.comment == "Nghỉ hưu"
    # Their membership and work stay; reactivated, they sign in again.
    assert world.staff_a.memberships.filter(unit=world.unit_a).exists()
    people_services.reactivate(world.staff_a.pk, actor=world.secretariat)
    assert _signs_in("stp.staff", PASSWORD)


def test_the_secretariat_cannot_deactivate_itself_and_others_cannot_deactivate_anyone(
    world: SimpleNamespace,
) -> None:
    before = _everything()
    with pytest.raises(InvalidInput):
        people_services.deactivate(world.secretariat.pk, actor=world.secretariat)
    with pytest.raises(NotAllowed):
        people_services.deactivate(world.staff_b.pk, actor=world.head_a)
    assert _everything() == before


def _spare_units() -> tuple[Unit, Unit]:
    group = UnitGroup.objects.get(code="khoi_so")
    return (
        Unit.objects.create(code="SCU1", name="Sở Cũ Một", group=group),
        Unit.objects.create(code="SCU2", name="Sở Cũ Hai", group=group),
    )


def test_a_renamed_unit_is_continued_by_a_new_one_that_keeps_its_people(
    world: SimpleNamespace,
) -> None:
    old, _other = _spare_units()
    member = User.objects.create_user("scu1.staff")
    Membership.objects.create(user=member, unit=old, role="staff")
    new = people_services.rename_unit(
        "scu1", new_code="SMOI", new_name="Sở Mới", actor=world.secretariat, note="QĐ 12/QĐ-UBND"
    )
    old.refresh_from_db()
    assert not old.is_active and old.name == "Sở Cũ Một"  # past years keep the old name
    assert new.is_active and new.group == old.group
    link = UnitLineage.objects.get(successor=new)
    assert (link.predecessor, link.kind, link.note) == (old, "renaming", "QĐ 12/QĐ-UBND")
    assert list(member.memberships.values_list("unit__code", flat=True)) == ["SMOI"]
    assert lineage_of(new) == [new.pk, old.pk]
    entry = AuditEntry.objects.get(action=audit.UNIT_RENAMED)
    assert entry.before == {"code": "SCU1", "name": "Sở Cũ Một"}
    assert entry.after == {"code": "SMOI", "name": "Sở Mới"}


def test_a_retired_unit_takes_no_new_child_nor_new_people(world: SimpleNamespace) -> None:
    _spare_units()
    people_services.rename_unit("SCU1", new_code="SMOI", new_name="Sở Mới", actor=world.secretariat)
    before = _everything()
    content = people_workbook(
        [("PCON", "Phòng Con", "khoi_so", None, "SCU1")], [("An", "an@x.vn", "SCU1", "Cán bộ")]
    )
    response = _post(world.secretariat, content)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "Trang “Đơn vị”, dòng 2, cột E (Mã đơn vị cấp trên): đơn vị SCU1 đã được sáp nhập hoặc "
        "đổi tên, không còn hoạt động.",
        "Trang “Tài khoản”, dòng 2, cột C (Mã đơn vị): đơn vị SCU1 đã được sáp nhập hoặc đổi "
        "tên, không còn hoạt động.",
    ]
    assert _everything() == before


def test_units_merge_into_a_new_unit_or_into_one_of_them(world: SimpleNamespace) -> None:
    one, two = _spare_units()
    merged = people_services.merge_units(
        ["SCU1", "SCU2"], into_code="SGOP", into_name="Sở Gộp", actor=world.secretariat
    )
    assert set(lineage_of(merged)) == {merged.pk, one.pk, two.pk}
    assert set(UnitLineage.objects.filter(successor=merged).values_list("kind", flat=True)) == {
        "merger"
    }
    group = merged.group
    three = Unit.objects.create(code="SCU3", name="Sở Cũ Ba", group=group)
    absorbed = people_services.merge_units(["SCU3"], into_code="SGOP", actor=world.secretariat)
    assert absorbed == merged and absorbed.is_active
    assert set(lineage_of(merged)) == {merged.pk, one.pk, two.pk, three.pk}


@pytest.mark.parametrize(
    ("call", "status"),
    [
        # STP is assessed in the world's open cycle.
        (
            lambda w: people_services.rename_unit(
                "STP", new_code="STP2", new_name="X", actor=w.secretariat
            ),
            409,
        ),
        (
            lambda w: people_services.merge_units(
                ["STP", "STC"], into_code="SG", into_name="G", actor=w.secretariat
            ),
            409,
        ),
        (
            lambda w: people_services.merge_units(
                ["SCU1"], into_code="SG", into_name="G", actor=w.secretariat
            ),
            400,
        ),
        (
            lambda w: people_services.rename_unit(
                "SCU1", new_code="SCU2", new_name="X", actor=w.secretariat
            ),
            400,
        ),
        (
            lambda w: people_services.rename_unit(
                "SCU1", new_code="S9", new_name="X", actor=w.head_a
            ),
            403,
        ),
        (
            lambda w: people_services.rename_unit(
                "NOPE", new_code="S9", new_name="X", actor=w.secretariat
            ),
            404,
        ),
    ],
    ids=[
        "open-cycle-rename",
        "open-cycle-merge",
        "one-unit",
        "code-taken",
        "not-secretariat",
        "unknown",
    ],
)
def test_a_refused_rename_or_merge_changes_nothing(
    world: SimpleNamespace, call: Any, status: int
) -> None:
    _spare_units()
    before = (_everything(), UnitLineage.objects.count())
    with pytest.raises(DomainError) as refused:
        call(world)
    assert refused.value.status_code == status
    assert (_everything(), UnitLineage.objects.count()) == before


def _province(prefix: str, units: int, people: int) -> bytes:
    """A workbook of `units` new units of a new group and `people` new accounts, plus the
    existing STP staff member added to the first new unit."""
    rows = [
        (f"{prefix}{n}", f"Xã {prefix} {n}", f"khoi_{prefix}", f"Khối {prefix}", None)
        for n in range(units)
    ]
    accounts = [
        (f"Người {prefix} {n}", f"{prefix}.{n}@xa.gov.vn", f"{prefix}{n % units}", "Cán bộ")
        for n in range(people)
    ]
    accounts.append(("Stp Staff", "stp.staff@example.test", f"{prefix}0", "Cán bộ"))
    return people_workbook(rows, accounts)


def test_a_province_import_costs_the_same_queries_whatever_its_number_of_rows(
    world: SimpleNamespace, django_assert_max_num_queries: Any
) -> None:
    """Every unit, account and membership is audited, in a few statements for the whole file
    (not a few per entry), and the audit trail still verifies."""
    with CaptureQueriesContext(connection) as small:
        assert _post(world.secretariat, _province("XA", 1, 2)).status_code == 201
    before = AuditEntry.objects.count()
    with django_assert_max_num_queries(len(small)):
        assert _post(world.secretariat, _province("XB", 12, 40)).status_code == 201

    assert AuditEntry.objects.count() - before == 1 + 12 + 40 + 1 + 1  # group, units, …
    assert audit.verify().problem == ""


def _correct(user: User | None, code: str, body: Any, **headers: Any) -> Any:
    return api(user).post(f"/api/v1/units/{code}/correct-name/", body, format="json", **headers)


def test_the_secretariat_corrects_a_misspelt_unit_name_through_the_api_while_it_is_assessed(
    world: SimpleNamespace, django_assert_max_num_queries: Any
) -> None:
    """The same unit under the right name: its case in the open cycle, its people and its
    past years stay its own; no lineage, one audit entry."""
    last = AuditEntry.objects.latest("pk").pk

    # The unit locked and updated, the audit chain's lock, head and entry, the unit group
    # for the answer, and the savepoint around them.
    with django_assert_max_num_queries(8):
        response = _correct(
            world.secretariat, "stp", {"name": " Sở  Tư pháp tỉnh ", "note": "sửa lỗi chính tả"}
        )

    assert response.status_code == 200, response.content
    assert response.json() == {"code": "STP", "name": "Sở Tư pháp tỉnh", "group": "khoi_so"}
    unit = Unit.objects.get(pk=world.unit_a.pk)
    assert (unit.code, unit.name, unit.is_active) == ("STP", "Sở Tư pháp tỉnh", True)
    assert Case.objects.get(pk=world.case_a.pk).unit_id == unit.pk
    assert world.staff_a.memberships.get().unit == unit
    assert UnitLineage.objects.count() == 0
    (entry,) = AuditEntry.objects.filter(pk__gt=last)
    assert (entry.action, entry.actor, entry.object_type, entry.object_id) == (
        audit.UNIT_NAME_CORRECTED,
        world.secretariat,
        "cases.unit",
        str(unit.pk),
    )
    assert (entry.before, entry.after) == ({"name": "Sở Tư pháp"}, {"name": "Sở Tư pháp tỉnh"})
    assert entry.comment == "sửa lỗi chính tả"
    assert audit.verify().problem == ""


@pytest.mark.parametrize(
    ("role", "code", "body", "status", "detail"),
    [
        (
            "leader",
            "STP",
            {"name": "Sở Tư pháp tỉnh"},
            403,
            "Chỉ Sở Nội vụ quản lý đơn vị và tài khoản.",
        ),
        (
            "staff_a",
            "STP",
            {"name": "Sở Tư pháp tỉnh"},
            403,
            "Chỉ Sở Nội vụ quản lý đơn vị và tài khoản.",
        ),
        ("head_a", "STP", {}, 403, "Chỉ Sở Nội vụ quản lý đơn vị và tài khoản."),
        ("secretariat", "NOPE", {"name": "Sở Mới"}, 404, "Không có đơn vị mã “NOPE”."),
        (
            "secretariat",
            "SCU1",  # renamed by decision below: retired
            {"name": "Sở Cũ Một tỉnh"},
            409,
            "Đơn vị SCU1 đã được sáp nhập hoặc đổi tên, không còn hoạt động.",
        ),
        ("secretariat", "STP", {}, 400, "Hãy nhập tên đã sửa của đơn vị."),
        ("secretariat", "STP", {"name": "  "}, 400, "Hãy nhập tên đã sửa của đơn vị."),
        (
            "secretariat",
            "STP",
            {"name": "Sở  Tư pháp"},
            400,
            "Tên đã sửa trùng với tên hiện tại của đơn vị.",
        ),
        ("secretariat", "STP", {"name": "S" * 256}, 400, "Tên có tối đa 255 ký tự."),
        ("secretariat", "STP", {"name": {"vi": "Sở"}}, 400, "Dữ liệu gửi lên không hợp lệ."),
        (
            "secretariat",
            "STP",
            {"name": "Sở Tư pháp tỉnh", "note": ["x"]},
            400,
            "Dữ liệu gửi lên không hợp lệ.",
        ),
    ],
    ids=[
        "leader",
        "unit-staff",
        "unit-head-empty-body",
        "unknown-unit",
        "retired-unit",
        "no-name",
        "blank-name",
        "same-name",
        "too-long",
        "name-not-text",
        "note-not-text",
    ],
)
def test_a_refused_name_correction_says_why_in_vietnamese_and_changes_nothing(
    world: SimpleNamespace, role: str, code: str, body: Any, status: int, detail: str
) -> None:
    _spare_units()
    people_services.rename_unit("SCU1", new_code="SMOI", new_name="Sở Mới", actor=world.secretariat)
    before = (_everything(), UnitLineage.objects.count())

    response = _correct(getattr(world, role), code, body)

    assert response.status_code == status, response.content
    assert response.json()["detail"] == detail
    assert (_everything(), UnitLineage.objects.count()) == before


def test_a_name_correction_is_refused_to_whoever_is_not_signed_in_and_in_english_on_request(
    world: SimpleNamespace,
) -> None:
    before = _everything()
    assert _correct(None, "STP", {"name": "Sở Tư pháp tỉnh"}).status_code == 401
    response = _correct(world.leader, "STP", {"name": "X"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only the secretariat manages units and accounts.",
        "errors": [],
    }
    assert _everything() == before
