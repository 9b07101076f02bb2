"""The secretariat's criteria-set pages: importing from Excel with a preview of the tree and
its sums before anything is saved, every problem of a refused file by row and column, the
frozen set of an open cycle, copying it as a new version and editing that version."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases.models import Criterion, Framework
from tests.framework_files import GOOD, HEADER, framework_changes, xlsx
from tests.web.html import Page
from workflow import audit
from workflow.models import AuditEntry

pytestmark = pytest.mark.django_db

IMPORT = reverse("web:framework-import")
SET_PAGE_QUERIES = 8  # session, user, roles, the set, its tree, versions, changes, menu
FIELDS = {
    "group": "khoi_so",
    "decision_number": "45/QĐ-UBND",
    "decision_date": "02/01/2026",
    "decision_signer": "Chủ tịch UBND tỉnh",
}


def _copy_of_this_years_set(client: Any, world: Any) -> Framework:
    """The secretariat copies the cycle's (frozen) set in the page; the copy, a draft."""
    frozen = Framework.objects.get(cycle=world.cycle)
    client.post(reverse("web:framework-copy", args=[frozen.pk]))
    return Framework.objects.get(derived_from=frozen)


def test_the_secretariat_finds_the_sets_in_the_menu_and_the_unit_does_not(
    world: Any, signed_in: Any
) -> None:
    page = Page(signed_in(world.secretariat).get(reverse("web:home")))
    assert page.first("a", href=reverse("web:frameworks")).text == "Bộ tiêu chí"
    staff = Page(signed_in(world.staff_a).get(reverse("web:home")))
    assert staff.first_or_none("a", href=reverse("web:frameworks")) is None
    assert signed_in(world.staff_a).get(reverse("web:frameworks")).status_code == 403


def test_an_import_shows_the_tree_and_its_sums_before_saving_it(world: Any, signed_in: Any) -> None:
    client = signed_in(world.secretariat)
    sets = Framework.objects.count()
    preview = client.post(
        IMPORT, {**FIELDS, "file": SimpleUploadedFile("Bộ tiêu chí 2026.xlsx", xlsx(GOOD))}
    )
    assert preview.status_code == 200
    page = Page(preview)
    rows = [r.attrs["data-code"] for r in page.all("tr") if "data-code" in r.attrs]
    assert rows == ["1", "1.1", "1.2"]
    assert page.id("preview-tree-total").text == "3"
    assert "Tỷ lệ hồ sơ giải quyết đúng hạn" in page.text
    assert Framework.objects.count() == sets  # nothing saved yet

    confirm = page.first("input", name="confirm").attrs["value"]
    saved = client.post(IMPORT, {"confirm": confirm})
    framework = Framework.objects.latest("pk")
    assert saved.status_code == 302
    assert saved["Location"] == reverse("web:framework", args=[framework.pk])
    assert (framework.decision_number, framework.decision_signer) == (
        "45/QĐ-UBND",
        "Chủ tịch UBND tỉnh",
    )
    assert framework.criteria.count() == 3
    entry = AuditEntry.objects.get(action=audit.FRAMEWORK_IMPORTED, object_id=str(framework.pk))
    assert entry.actor == world.secretariat
    # Saving the same preview twice saves nothing more.
    assert client.post(IMPORT, {"confirm": confirm}).status_code == 400
    assert Framework.objects.count() == sets + 1


def test_a_refused_file_lists_every_problem_by_row_and_column(world: Any, signed_in: Any) -> None:
    rows: list[list[Any]] = [
        HEADER,
        ["1", "Khu vực", 4, "", "", "", "", "", "", ""],
        ["1.1", "Một", 1, "Có/Không", "", "", "Có", "Không", "", ""],
        ["1.1", "Một lần nữa", 1, "Có/Không", "", "", "Có", "Không", "", ""],
        ["2.1", "Không có khu vực", 1, "Có/Không", "", "", "Có", "Không", "", ""],
    ]
    before = Framework.objects.count(), Criterion.objects.count()
    response = signed_in(world.secretariat).post(
        IMPORT, {**FIELDS, "file": SimpleUploadedFile("sai.xlsx", xlsx(rows))}
    )
    assert response.status_code == 400
    page = Page(response)
    found = {
        (r.attrs["data-row"], r.attrs["data-column"])
        for r in page.all("tr")
        if "data-row" in r.attrs
    }
    assert {("4", "A"), ("5", "A"), ("2", "C")} <= found
    assert "không có dòng mã 2 ở phía trên" in page.text
    assert page.first_or_none("input", name="confirm") is None
    assert (Framework.objects.count(), Criterion.objects.count()) == before


def test_the_frozen_set_says_which_cycle_froze_it_and_offers_no_editor(
    world: Any, signed_in: Any
) -> None:
    frozen = Framework.objects.get(cycle=world.cycle)
    page = Page(signed_in(world.secretariat).get(reverse("web:framework", args=[frozen.pk])))
    assert world.cycle.title in page.id("frozen").text
    assert page.first("title").text == f"{frozen.title} · Chỉ số CCHC"  # the set's name only
    assert len(page.all("table", id="set-changes")) <= 1
    assert page.first_or_none("button", value="remove") is None
    assert page.id("set-tree-total").text == "100"
    refused = signed_in(world.secretariat).post(
        reverse("web:framework-edit", args=[frozen.pk]),
        {"op": "change", "code": "1.1.1", "max_points": "2"},
    )
    assert refused.status_code == 302
    assert frozen.criteria.get(code="1.1.1").max_points == 1


def test_a_copy_is_edited_in_the_page_with_the_sums_checked_as_it_goes(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.secretariat)
    frozen = Framework.objects.get(cycle=world.cycle)
    copied = client.post(reverse("web:framework-copy", args=[frozen.pk]))
    copy = Framework.objects.get(derived_from=frozen)
    assert copied["Location"] == reverse("web:framework", args=[copy.pk])
    edit = reverse("web:framework-edit", args=[copy.pk])
    client.post(
        edit,
        {
            "op": "change",
            "code": "1.1.2",
            "title": "Mức độ hoàn thành kế hoạch CCHC năm",
            "max_points": "2",
            "settings": "≥ 100%: 2\n≥ 80%: 1",
            "evidence_required_shown": "1",
            "evidence_required": "on",
            "not_applicable_allowed_shown": "1",
            "guidance": "Báo cáo kết quả thực hiện kế hoạch",
        },
    )
    leaf = copy.criteria.get(code="1.1.2")
    assert (leaf.title, leaf.max_points, leaf.guidance) == (
        "Mức độ hoàn thành kế hoạch CCHC năm",
        Decimal(2),
        "Báo cáo kết quả thực hiện kế hoạch",
    )
    assert leaf.config["thresholds"] == [{"min": 100, "points": 2}, {"min": 80, "points": 1}]
    page = Page(client.get(reverse("web:framework", args=[copy.pk])))
    assert "1.1: điểm tối đa là 2,5 nhưng tổng các mục con là 3." in page.id("set-problems").text
    row = page.id("node-1.1")
    assert "has-problem" in row.attrs["class"]
    # Down, then up again (the codes stay, the rows show the order); then remove: each
    # one audited with its author.
    client.post(edit, {"op": "down", "code": "1.1"})
    rows = [
        r.attrs["data-code"]
        for r in Page(client.get(reverse("web:framework", args=[copy.pk]))).all("tr")
        if "data-code" in r.attrs
    ]
    assert rows.index("1.2") < rows.index("1.1") < rows.index("1.1.1") < rows.index("1.3")
    assert copy.criteria.get(code="1.1").title == "Kế hoạch CCHC năm"
    assert copy.criteria.get(code="1.1.2").max_points == 2  # its parts moved with it
    client.post(edit, {"op": "up", "code": "1.1"})
    assert copy.criteria.order_by("position")[1].code == "1.1"
    client.post(edit, {"op": "remove", "code": "1.1.1"})
    page = Page(client.get(reverse("web:framework", args=[copy.pk])))
    assert "1.1: điểm tối đa là 2,5 nhưng tổng các mục con là 2." in page.id("set-problems").text
    changes = framework_changes(copy)
    assert [e.data["change"] for e in changes] == [
        "change",
        "move",
        "move",
        "remove",
    ]
    assert {e.actor for e in changes} == {world.secretariat}


def test_the_secretariat_adds_a_part_under_a_criterion_and_the_sums_are_checked_again(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.secretariat)
    copy = _copy_of_this_years_set(client, world)
    page_url = reverse("web:framework", args=[copy.pk])
    edit = reverse("web:framework-edit", args=[copy.pk])
    # This year 1.1.2 is worth less: 1.1 no longer sums its parts until a new one makes up
    # the rest.
    client.post(
        edit,
        {"op": "change", "code": "1.1.2", "max_points": "1", "settings": "≥ 100%: 1\n≥ 80%: 0,5"},
    )
    page = Page(client.get(page_url))
    assert "1.1: điểm tối đa là 2,5 nhưng tổng các mục con là 2." in page.id("set-problems").text
    assert page.first_or_none("a", href="?add=1.1#add-form") is not None

    form = client.get(f"{page_url}?add=1.1")
    assert form.context["adding"] == "1.1"
    assert Page(form).id("add-title").text == "Thêm mục con của 1.1"
    assert len(Page(form).all("input", name="op", value="add")) == 1
    added = client.post(
        edit,
        {
            "op": "add",
            "code": "1.1",
            "title": "Công khai kế hoạch CCHC trên Cổng thông tin điện tử",
            "max_points": "0,5",
            "method": "yes_no",
            "settings": "",
            "rule": "",
            "evidence_required_shown": "1",
            "evidence_required": "on",
            "not_applicable_allowed_shown": "1",
            "guidance": "Đường dẫn đến bài đăng kế hoạch",
            "data_source": "Cổng thông tin điện tử tỉnh",
        },
    )

    assert added.status_code == 302
    assert added["Location"] == page_url
    leaf = copy.criteria.select_related("parent").get(code="1.1.3")  # after its siblings
    assert leaf.parent is not None and leaf.parent.code == "1.1"
    assert (
        leaf.title,
        leaf.max_points,
        leaf.method,
        leaf.evidence_required,
        leaf.not_applicable_allowed,
        leaf.guidance,
        leaf.data_source,
    ) == (
        "Công khai kế hoạch CCHC trên Cổng thông tin điện tử",
        Decimal("0.5"),
        "yes_no",
        True,
        False,
        "Đường dẫn đến bài đăng kế hoạch",
        "Cổng thông tin điện tử tỉnh",
    )
    page = Page(client.get(page_url))
    assert page.id_or_none("set-problems") is None
    assert page.id("set-sums").text == (
        "Mọi mục đều bằng tổng các mục con; bộ tiêu chí có tổng 100 điểm."
    )
    assert "Công khai kế hoạch CCHC" in page.id("node-1.1.3").text
    entry = framework_changes(copy)[-1]
    assert (entry.actor, entry.data["change"], entry.data["code"]) == (
        world.secretariat,
        "add",
        "1.1.3",
    )
    assert entry.before is None and entry.after is not None
    assert (entry.after["title"], entry.after["max_points"], entry.after["method"]) == (
        "Công khai kế hoạch CCHC trên Cổng thông tin điện tử",
        "0.5",
        "yes_no",
    )
    last_years = Framework.objects.get(cycle=world.cycle)
    assert not last_years.criteria.filter(code="1.1.3").exists()  # untouched


def test_the_unit_reads_the_guidance_and_data_source_on_its_score_sheet(
    world: Any, signed_in: Any
) -> None:
    Criterion.objects.filter(framework__cycle=world.cycle, code="1.1.1").update(
        guidance="Quyết định ban hành kế hoạch\nkèm bản kế hoạch <đã ký>"
    )
    page = Page(signed_in(world.staff_a).get(reverse("web:case", args=[world.case_a.pk])))
    hints = {e.attrs["id"]: e.text for e in page.all("p") if "guidance" in e.attrs.get("class", "")}
    assert hints["c-1-1-1-guidance"].startswith("Hướng dẫn: Quyết định ban hành kế hoạch")
    assert hints["c-1-1-1-guidance"].endswith("kèm bản kế hoạch <đã ký>")  # shown as typed
    assert hints["c-3-3-1-guidance"] == "Nguồn số liệu: Hệ thống thông tin giải quyết TTHC cấp tỉnh"


def test_a_set_page_costs_the_same_queries_whatever_its_size(
    world: Any, signed_in: Any, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(world.secretariat)
    client.post(IMPORT, {**FIELDS, "file": SimpleUploadedFile("nho.xlsx", xlsx(GOOD))})
    confirm = client.session["framework_import"]["sha256"]
    client.post(IMPORT, {"confirm": confirm})
    small = Framework.objects.latest("pk")
    large = Framework.objects.get(cycle=world.cycle)
    counted = []
    for framework in (small, large):
        with django_assert_max_num_queries(SET_PAGE_QUERIES) as queries:
            assert client.get(reverse("web:framework", args=[framework.pk])).status_code == 200
        counted.append(len(queries.captured_queries))
    assert counted[0] == counted[1], counted


def test_a_criterion_is_moved_under_another_parent_and_the_codes_follow(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.secretariat)
    copy = _copy_of_this_years_set(client, world)
    page = Page(client.get(reverse("web:framework", args=[copy.pk]) + "?edit=1.5"))
    targets = [o.attrs["value"] for o in page.all("option") if o.attrs.get("value") is not None]
    assert "1.3" in targets and "1.5" not in targets
    client.post(
        reverse("web:framework-edit", args=[copy.pk]),
        {"op": "move", "code": "1.5", "parent": "1.3"},
    )
    moved = copy.criteria.get(title="Sáng kiến, giải pháp mới trong CCHC được công nhận")
    assert moved.parent is not None
    assert (moved.code, moved.parent.code, moved.area_code, moved.depth) == ("1.3.3", "1.3", "1", 2)
    assert not copy.criteria.filter(code="1.5").exists()  # the others keep their codes
    assert copy.criteria.get(code="1.6").title.startswith("Đánh giá về công tác chỉ đạo")


def test_the_secretariat_renumbers_the_codes_from_the_editor(world: Any, signed_in: Any) -> None:
    client = signed_in(world.secretariat)
    copy = _copy_of_this_years_set(client, world)
    edit = reverse("web:framework-edit", args=[copy.pk])
    client.post(edit, {"op": "down", "code": "1.1"})
    page = Page(client.get(reverse("web:framework", args=[copy.pk])))
    assert page.id_or_none("renumber") is not None

    client.post(edit, {"op": "renumber"})

    assert copy.criteria.get(code="1.2").title == "Kế hoạch CCHC năm"
    page = Page(client.get(reverse("web:framework", args=[copy.pk])))
    assert "đánh số lại" in page.id("set-changes").text.lower()


def test_the_editor_names_the_codes_left_out_of_order_until_they_are_renumbered(
    world: Any, signed_in: Any
) -> None:
    """Moving a row keeps its code: the editor says which codes no longer follow the rows,
    refuses nothing for it, and points to the renumbering."""
    client = signed_in(world.secretariat)
    copy = _copy_of_this_years_set(client, world)
    page_url = reverse("web:framework", args=[copy.pk])
    edit = reverse("web:framework-edit", args=[copy.pk])
    assert Page(client.get(page_url)).id_or_none("code-order") is None

    client.post(edit, {"op": "down", "code": "1.1"})

    page = Page(client.get(page_url))
    assert page.id("code-order-title").text == "Mã số không theo thứ tự"
    (item,) = [li.text for li in page.all("li") if li.text.startswith("1.1 ")]
    assert item == (
        "1.1 “Kế hoạch CCHC năm”: mã không theo thứ tự giữa các mục con của 1 "
        "(thứ tự đang hiển thị: 1.2, 1.1, 1.3, 1.4, 1.5, 1.6)."
    )
    assert page.first_or_none("a", href="#node-1.1") is not None
    assert page.first_or_none("a", href="#renumber-section") is not None
    assert page.id_or_none("renumber-section") is not None
    assert page.id_or_none("set-problems") is None  # not a fault
    assert page.id_or_none("set-sums") is not None

    client.post(edit, {"op": "renumber"})

    assert Page(client.get(page_url)).id_or_none("code-order") is None


def test_the_notice_reads_in_english_for_an_english_reader(world: Any, signed_in: Any) -> None:
    client = signed_in(world.secretariat)
    copy = _copy_of_this_years_set(client, world)
    client.post(reverse("web:framework-edit", args=[copy.pk]), {"op": "up", "code": "2"})
    page_url = reverse("web:framework", args=[copy.pk])
    client.post(reverse("set_language"), {"language": "en", "next": page_url})
    page = Page(client.get(page_url))
    assert page.id("code-order-title").text == "Codes out of order"
    assert (  # of two rows swapped, the one below is named
        "1 “Công tác chỉ đạo, điều hành CCHC”: its code is out of order among the areas "
        "(shown: 2, 1, 3, 4, 5, 6, 7, 8, 9)."
    ) in page.id("code-order").text


def test_an_import_preview_names_the_codes_out_of_order_and_the_set_can_still_be_saved(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.secretariat)
    rows = [GOOD[0], GOOD[1], GOOD[3], GOOD[2]]  # 1.2 above 1.1
    preview = Page(
        client.post(IMPORT, {**FIELDS, "file": SimpleUploadedFile("dao.xlsx", xlsx(rows))})
    )
    assert "1.1 “Ban hành kế hoạch CCHC năm”" in preview.id("code-order").text
    assert preview.first_or_none("a", href="#renumber-section") is None  # no editor here
    confirm = preview.first("input", name="confirm")["value"]
    assert client.post(IMPORT, {"confirm": confirm}).status_code == 302
    saved = Framework.objects.latest("pk")
    assert list(saved.criteria.order_by("position").values_list("code", flat=True)) == [
        "1",
        "1.2",
        "1.1",
    ]
