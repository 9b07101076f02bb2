"""The secretariat's criteria sets through the API: the template, an import that is all rows
or none with every problem by row and column, the round trip of both sample sets, reading
and exporting, copying as a new version, editing with the sums checked as it goes, and the
frozen set of an open cycle. Every refusal leaves everything as it was."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from cases import frameworks, scoring
from cases.errors import Conflict
from cases.frameworks import checks, excel, tree
from cases.models import Criterion, Framework, Method
from tests.framework_files import GOOD, HEADER, framework_changes, xlsx
from tests.helpers import api, worksheet
from workflow import audit, framework_services
from workflow.models import AuditEntry

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "frameworks"
DECISION = {"decision_number": "123/QĐ-UBND", "decision_date": "15/01/2026"}


def post_set(user: Any, content: bytes, **fields: Any) -> Any:
    data = {"group": "khoi_so", **DECISION, **fields}
    data["file"] = SimpleUploadedFile("Bộ tiêu chí.xlsx", content)
    return api(user).post("/api/v1/frameworks/", data, format="multipart")


def counts() -> tuple[int, int, int]:
    return Framework.objects.count(), Criterion.objects.count(), AuditEntry.objects.count()


def test_the_template_is_a_workbook_with_the_columns_of_a_published_table(world: Any) -> None:
    response = api(world.secretariat).get("/api/v1/frameworks/template.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [c.value for c in sheet[1]] == HEADER
    assert sheet.max_row == 1


def test_the_secretariat_imports_a_set_and_gets_its_tree_with_the_sums(world: Any) -> None:
    response = post_set(world.secretariat, xlsx(GOOD), decision_signer="Nguyễn Văn A")
    assert response.status_code == 201, response.content
    body = response.json()
    framework = Framework.objects.get(pk=body["id"])
    assert framework.cycle is None and framework.frozen_by is None
    assert (framework.decision_number, framework.decision_date) == (
        "123/QĐ-UBND",
        date(2026, 1, 15),
    )
    area = body["tree"][0]
    assert (area["code"], area["max_points"], area["sum"]) == ("1", "3", "3")
    rate = area["children"][1]
    assert rate["config"] == {
        "thresholds": [
            {"min": 100, "points": 2},
            {"min": 90, "points": 1.5},
            {"min": 0, "points": 0},
        ]
    }
    assert rate["data_source"] == "Hệ thống một cửa"
    assert body["problems"] == []
    leaf = Criterion.objects.get(framework=framework, code="1.1")
    assert (leaf.method, leaf.guidance, leaf.evidence_required, leaf.area_code) == (
        Method.YES_NO,
        "Kế hoạch",
        True,
        "1",
    )
    entry = AuditEntry.objects.filter(action=audit.FRAMEWORK_IMPORTED).get()
    assert entry.actor == world.secretariat and entry.data["criteria"] == 3


def test_a_preview_answers_the_tree_and_saves_nothing(world: Any) -> None:
    before = counts()
    response = post_set(world.secretariat, xlsx(GOOD), dry_run="true")
    assert response.status_code == 200
    assert response.json()["total"] == "3"
    assert counts() == before


def test_every_bad_row_is_named_by_row_and_column_and_nothing_is_saved(world: Any) -> None:
    rows: list[list[Any]] = [
        HEADER,
        ["1", "Khu vực", 5, "", "", "", "", "", "", ""],  # parts sum to 3, not 5
        ["1.1", "Hai lần", 1, "yes_no", "", "", "Có", "Không", "", ""],
        ["1.1", "Hai lần", 1, "yes_no", "", "", "Có", "Không", "", ""],  # duplicate code
        ["1.2", "Cách lạ", 1, "bốc thăm", "", "", "Có", "Không", "", ""],  # unknown method
        ["1.3", "Âm", -1, "manual", "", "", "Có", "Không", "", ""],  # negative maximum
        ["1.4", "Thiếu điểm", None, "manual", "", "", "Có", "Không", "", ""],  # missing cell
        ["1.5", "Có thể", 1, "manual", "", "", "có lẽ", "Không", "", ""],  # not yes/no
    ]
    before = counts()
    response = post_set(world.secretariat, xlsx(rows), group="khoi_khong_co", decision_date="")
    assert response.status_code == 400
    where = {(p["row"], p["column"]) for p in response.json()["problems"]}
    assert {(4, "A"), (5, "D"), (6, "C"), (7, "C"), (8, "G"), (2, "C")} <= where
    messages = " ".join(p["message"] for p in response.json()["problems"])
    assert "khoi_khong_co" in messages  # the group, named with the file's problems
    assert "Ngày quyết định" in messages
    assert "bốc thăm" in messages
    assert "được dùng hai lần" in messages
    assert counts() == before


@pytest.mark.parametrize("big", [1e30, "1" + "0" * 30, 100000])
def test_a_maximum_beyond_what_the_set_can_hold_is_named_by_row_and_column(
    world: Any, big: Any
) -> None:
    rows = [
        HEADER,
        ["1", "Khu vực", big, "", "", "", "", "", "", ""],
        ["1.1", "Rất nhiều điểm", big, "yes_no", "", "", "Có", "Không", "", ""],
    ]
    before = counts()
    response = post_set(world.secretariat, xlsx(rows))
    assert response.status_code == 400, response.content
    problems = response.json()["problems"]
    assert {(p["row"], p["column"]) for p in problems} == {(2, "C"), (3, "C")}
    assert {p["message"] for p in problems} == {"tối đa 99999,99 điểm."}
    assert counts() == before


def test_a_missing_column_is_named_and_nothing_is_saved(world: Any) -> None:
    rows = [[h for h in HEADER if h != "Điểm tối đa"], ["1", "Khu vực", "", "", ""]]
    before = counts()
    response = post_set(world.secretariat, xlsx(rows))
    assert response.status_code == 400
    assert response.json()["problems"][0]["row"] == 1
    assert "Điểm tối đa" in response.json()["problems"][0]["message"]
    assert counts() == before


def test_a_file_that_is_not_a_workbook_is_refused(world: Any) -> None:
    before = counts()
    for content in (b"%PDF-1.7 not a workbook", b"PK\x03\x04 broken zip", b""):
        response = post_set(world.secretariat, content)
        assert response.status_code == 400, content
        assert response.json()["detail"]
    assert counts() == before


def million_empty_cells() -> bytes:
    """A valid workbook whose sheet holds 1 000 × 1 000 empty formatted cells."""
    book = Workbook()
    worksheet(book).append(HEADER)
    base = io.BytesIO()
    book.save(base)
    cells = "".join(f'<c r="{get_column_letter(c)}{{r}}" s="0"/>' for c in range(1, 1001))
    rows = "".join(f'<row r="{r}">{cells.format(r=r)}</row>' for r in range(1, 1001))
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        f'.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>'
    )
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(base.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, sheet if item.filename == "xl/worksheets/sheet1.xml" else data)
    return out.getvalue()


def test_a_workbook_of_a_million_empty_cells_is_refused_without_reading_it(world: Any) -> None:
    content = million_empty_cells()
    assert len(content) < excel.MAX_BYTES  # small packed: only its unpacked size gives it away
    before = counts()
    response = post_set(world.secretariat, content)
    assert response.status_code == 400
    assert "2000" in response.json()["detail"] or "2000" in " ".join(response.json()["errors"])
    assert counts() == before


def test_only_the_secretariat_imports_a_set(world: Any) -> None:
    before = counts()
    for user in (world.leader, world.staff_a):
        assert post_set(user, xlsx(GOOD)).status_code == 403
    assert counts() == before


@pytest.mark.parametrize("sample", ["khoi-so-sample.yaml", "khoi-xa-sample.yaml"])
def test_both_sample_sets_round_trip_through_excel_unchanged(world: Any, sample: str) -> None:
    original = frameworks.load(
        frameworks.read(SAMPLES / sample), cycle=None, unit_group=world.group
    )
    exported = api(world.auditor).get(f"/api/v1/frameworks/{original.pk}.xlsx")
    assert exported.status_code == 200
    response = post_set(world.secretariat, exported.content)
    assert response.status_code == 201, response.content
    again = Framework.objects.get(pk=response.json()["id"])
    assert tree.from_framework(again).as_list() == tree.from_framework(original).as_list()
    fields = ("code", "title", "position", "depth", "max_points", "method", "config", "is_leaf")
    assert list(again.criteria.values_list(*fields)) == list(original.criteria.values_list(*fields))
    assert (again.bonus_cap, again.penalty_cap) == (original.bonus_cap, original.penalty_cap)


def test_the_list_and_a_set_are_read_by_the_global_roles_only(world: Any) -> None:
    framework = Framework.objects.get(cycle=world.cycle)
    listed = api(world.leader).get("/api/v1/frameworks/")
    assert listed.status_code == 200
    assert [f["id"] for f in listed.json()] == [framework.pk]
    detail = api(world.auditor).get(f"/api/v1/frameworks/{framework.pk}/")
    assert detail.status_code == 200
    assert detail.json()["frozen_by"]["title"] == world.cycle.title
    assert detail.json()["total"] == "100"
    assert api(world.staff_a).get(f"/api/v1/frameworks/{framework.pk}/").status_code == 403


def test_editing_a_frozen_set_is_refused_naming_the_cycle(world: Any) -> None:
    framework = Framework.objects.get(cycle=world.cycle)
    before = tree.from_framework(framework).as_list()
    audited = AuditEntry.objects.count()
    client = api(world.secretariat)
    for response in (
        client.patch(
            f"/api/v1/frameworks/{framework.pk}/criteria/1.1.1/",
            {"max_points": "2"},
            format="json",
        ),
        client.delete(f"/api/v1/frameworks/{framework.pk}/criteria/1.1.1/"),
        client.post(
            f"/api/v1/frameworks/{framework.pk}/criteria/",
            {"parent": "1", "title": "Mới", "max_points": "1", "method": "manual"},
            format="json",
        ),
        client.patch(f"/api/v1/frameworks/{framework.pk}/", {"title": "Khác"}, format="json"),
    ):
        assert response.status_code == 409
        assert world.cycle.title in response.json()["detail"]
    assert tree.from_framework(framework).as_list() == before
    assert AuditEntry.objects.count() == audited


def test_last_years_set_is_copied_and_edited_with_the_sums_checked_as_it_goes(
    world: Any,
) -> None:
    frozen = Framework.objects.get(cycle=world.cycle)
    client = api(world.secretariat)
    copied = client.post(f"/api/v1/frameworks/{frozen.pk}/copy/")
    assert copied.status_code == 201
    body = copied.json()
    copy = Framework.objects.get(pk=body["id"])
    assert (copy.version, copy.derived_from_id, copy.cycle_id) == (2, frozen.pk, None)
    assert tree.from_framework(copy).as_list() == tree.from_framework(frozen).as_list()
    url = f"/api/v1/frameworks/{copy.pk}/criteria/"

    # Fewer points for 1.1.1: 1.1 no longer sums its parts, and the answer says so.
    changed = client.patch(f"{url}1.1.1/", {"max_points": "0,5"}, format="json")
    assert changed.status_code == 200, changed.content
    assert [p.split(":")[0] for p in changed.json()["problems"]] == ["1.1"]
    # A new sub-criterion under 1.1, coded after its siblings, makes it sum again.
    added = client.post(
        url,
        {"parent": "1.1", "title": "Công khai kế hoạch", "max_points": "0,5", "method": "yes_no"},
        format="json",
    )
    assert added.status_code == 201, added.content
    assert added.json()["problems"] == []
    leaf = Criterion.objects.get(framework=copy, code="1.1.3")
    assert (leaf.title, leaf.max_points, leaf.method) == (
        "Công khai kế hoạch",
        Decimal("0.5"),
        "yes_no",
    )
    # Renamed and moved to the top: it is shown first, every code keeps its criterion.
    moved = client.patch(
        f"{url}1.1.3/", {"title": "Công khai kế hoạch CCHC", "step": -2}, format="json"
    )
    assert moved.status_code == 200, moved.content
    assert [
        (c.code, c.title)
        for c in Criterion.objects.filter(framework=copy, parent__code="1.1").order_by("position")
    ] == [
        ("1.1.3", "Công khai kế hoạch CCHC"),
        ("1.1.1", "Ban hành kế hoạch CCHC năm đúng thời hạn"),
        ("1.1.2", "Mức độ hoàn thành kế hoạch CCHC"),
    ]
    removed = client.delete(f"{url}1.1.1/")
    assert removed.status_code == 200
    assert [p.split(":")[0] for p in removed.json()["problems"]] == ["1.1"]
    assert frozen.criteria.get(code="1.1.1").max_points == 1  # the frozen set is untouched
    changes = framework_changes(copy)
    assert [e.data["change"] for e in changes] == [
        "change",
        "add",
        "change",
        "move",
        "remove",
    ]
    assert {e.actor for e in changes} == {world.secretariat}
    assert AuditEntry.objects.filter(action=audit.FRAMEWORK_COPIED, object_id=str(copy.pk))


def test_the_secretariat_changes_a_leafs_scoring_method_with_its_settings_and_it_is_audited(
    world: Any,
) -> None:
    """1.1.2 was scored by bands of a percentage; this year by levels: the bands go, the
    levels are stored as the scoring reads them, and the audit keeps both."""
    frozen = Framework.objects.get(cycle=world.cycle)
    copy = framework_services.copy_framework(frozen.pk, actor=world.secretariat)
    before = copy.criteria.get(code="1.1.2")
    assert before.method == Method.PERCENTAGE and before.config["thresholds"]

    response = api(world.secretariat).patch(
        f"/api/v1/frameworks/{copy.pk}/criteria/1.1.2/",
        {
            "method": "graded",
            "settings": "Chưa thực hiện: 0\nHoàn thành một phần: 0,5\nHoàn thành toàn bộ: 1,5",
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["problems"] == []  # the set still sums
    leaf = copy.criteria.get(code="1.1.2")
    levels = [
        {"label": "Chưa thực hiện", "points": 0},
        {"label": "Hoàn thành một phần", "points": 0.5},
        {"label": "Hoàn thành toàn bộ", "points": 1.5},
    ]
    assert (leaf.method, leaf.config, leaf.max_points) == (
        Method.GRADED,
        {"levels": levels},
        Decimal("1.5"),
    )
    assert checks.set_problems(copy) == []  # a cycle may open on it
    (entry,) = framework_changes(copy)
    assert (entry.actor, entry.data["change"], entry.data["code"]) == (
        world.secretariat,
        "change",
        "1.1.2",
    )
    assert entry.before is not None and entry.after is not None
    assert (entry.before["method"], entry.before["config"]) == (
        "percentage_threshold",
        before.config,
    )
    assert (entry.after["method"], entry.after["config"]) == ("graded", {"levels": levels})
    assert frozen.criteria.get(code="1.1.2").method == Method.PERCENTAGE  # last year's stays


def test_an_edit_that_makes_a_node_invalid_is_refused_and_changes_nothing(world: Any) -> None:
    copy = api(world.secretariat).post(
        f"/api/v1/frameworks/{Framework.objects.get(cycle=world.cycle).pk}/copy/"
    )
    framework = Framework.objects.get(pk=copy.json()["id"])
    before = tree.from_framework(framework).as_list()
    audited = AuditEntry.objects.count()
    url = f"/api/v1/frameworks/{framework.pk}/criteria/"
    client = api(world.secretariat)
    for number, response in enumerate(
        (
            client.patch(f"{url}1.1.1/", {"method": "bốc thăm"}, format="json"),
            client.patch(f"{url}1.1.1/", {"max_points": "-1"}, format="json"),
            client.patch(f"{url}1.1/", {"method": "manual"}, format="json"),  # a parent
            client.patch(f"{url}1.1.2/", {"settings": "nhiều"}, format="json"),
            client.patch(f"{url}9.9/", {"title": "Không có"}, format="json"),
            client.post(url, {"parent": "1", "title": "", "max_points": "x"}, format="json"),
            client.patch(f"{url}1/", {"parent": "1.1"}, format="json"),  # under itself
        )
    ):
        assert response.status_code == 400, (number, response.content)
        assert response.json()["detail"]
    assert tree.from_framework(framework).as_list() == before
    assert AuditEntry.objects.count() == audited


@pytest.mark.parametrize("big", ["100000", "1" + "0" * 30])
def test_the_editor_refuses_the_maxima_the_workbook_refuses_with_the_same_words(
    world: Any, big: str
) -> None:
    copy = api(world.secretariat).post(
        f"/api/v1/frameworks/{Framework.objects.get(cycle=world.cycle).pk}/copy/"
    )
    framework = Framework.objects.get(pk=copy.json()["id"])
    before = tree.from_framework(framework).as_list()
    response = api(world.secretariat).patch(
        f"/api/v1/frameworks/{framework.pk}/criteria/1.1.1/", {"max_points": big}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "tối đa 99999,99 điểm." in response.json()["detail"]
    assert "hai chữ số" not in response.json()["detail"]
    assert tree.from_framework(framework).as_list() == before


def test_the_editor_takes_a_maximum_of_a_thousand_points_as_the_workbook_does(
    world: Any,
) -> None:
    """A set scored on 1.000 points (a province's own scale) is written in the editor too."""
    copy = api(world.secretariat).post(
        f"/api/v1/frameworks/{Framework.objects.get(cycle=world.cycle).pk}/copy/"
    )
    framework = Framework.objects.get(pk=copy.json()["id"])
    url = f"/api/v1/frameworks/{framework.pk}/criteria/"
    added = api(world.secretariat).post(
        url,
        {"parent": "", "title": "Khu vực nghìn điểm", "max_points": "1000"},
        format="json",
    )
    assert added.status_code == 201, added.content
    area = framework.criteria.get(title="Khu vực nghìn điểm")
    assert area.max_points == 1000


def test_the_yaml_loader_refuses_a_set_that_does_not_sum(world: Any) -> None:
    data = {
        "areas": [
            {
                "code": "1",
                "title": "Khu vực",
                "max_points": 3,
                "criteria": [{"code": "1.1", "title": "Một", "max_points": 1, "method": "manual"}],
            }
        ]
    }
    before = counts()
    with pytest.raises(frameworks.FrameworkError, match="1"):
        frameworks.load(data, cycle=None, unit_group=world.group)
    assert counts() == before


def test_a_set_is_stored_in_one_insert_per_level(
    world: Any, django_assert_max_num_queries: Any
) -> None:
    data = frameworks.read(frameworks.BUILTIN["khoi_so"])
    with django_assert_max_num_queries(8):  # savepoint, the set, three levels, release
        frameworks.load(data, cycle=None, unit_group=world.group)


def test_the_problems_are_named_in_english_for_an_english_reader(world: Any) -> None:
    rows = [*GOOD, ["1.3", "Âm", -1, "manual", "", "", "Yes", "No", "", ""]]
    client = api(world.secretariat)
    response = client.post(
        "/api/v1/frameworks/",
        {
            "group": "khoi_so",
            **DECISION,
            "file": SimpleUploadedFile("set.xlsx", xlsx(rows)),
        },
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    problems = response.json()["problems"]
    assert {"row": 5, "column": "C", "message": "the maximum cannot be negative (-1)."} in problems


def _penalty_set(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "areas": [
            {
                "code": "1",
                "title": "Khu vực",
                "max_points": 1,
                "criteria": [{"code": "1.1", "title": "Một", "max_points": 1, "method": "manual"}],
            }
        ],
        "bonus_penalty": {"penalty_cap": 3, "items": [{"code": "2.1", "type": "penalty", **item}]},
    }


def _late_deduction(framework: Framework) -> Criterion:
    return Criterion.objects.get(framework=framework, code="2.1")


def test_the_yaml_set_names_its_late_submission_deduction_explicitly(world: Any) -> None:
    named = frameworks.load(
        _penalty_set(
            {
                "title": "Gửi kết quả tự đánh giá trễ hạn",
                "points_each": 0.5,
                "counts": "late_working_days",
            }
        ),
        cycle=None,
        unit_group=world.group,
    )
    by_hand = frameworks.load(
        _penalty_set(
            {
                "title": "Chậm gửi báo cáo",
                "rule": "0.5 điểm/ngày làm việc trễ",
                "counts": "",
            }
        ),
        cycle=None,
        unit_group=world.group,
    )

    assert _late_deduction(named).config == {"points_each": "0.5", "counts": "late_working_days"}
    assert scoring.counts_working_days_late(_late_deduction(named))
    # Said explicitly, the setting wins over the rule's words.
    assert not scoring.counts_working_days_late(_late_deduction(by_hand))


def test_a_yaml_set_without_the_setting_is_read_by_its_rules_words(world: Any) -> None:
    sample = frameworks.load(
        frameworks.read(SAMPLES / "khoi-so-sample.yaml"), cycle=None, unit_group=world.group
    )

    late = Criterion.objects.get(framework=sample, code="9.2")
    assert late.config["counts"] == "late_working_days"
    assert Criterion.objects.get(framework=sample, code="9.3").config.get("counts") == ""


def test_an_unknown_count_of_a_penalty_item_refuses_the_set(world: Any) -> None:
    before = counts()
    with pytest.raises(frameworks.FrameworkError, match="late_days"):
        frameworks.load(
            _penalty_set({"title": "Trễ hạn", "points_each": 0.5, "counts": "late_days"}),
            cycle=None,
            unit_group=world.group,
        )
    assert counts() == before


def test_the_workbook_marks_the_late_submission_deduction_in_its_settings(world: Any) -> None:
    rows: list[list[Any]] = [
        *GOOD,
        ["9", "Điểm thưởng, điểm trừ", 0, "", "", "", "", "", "", ""],
        ["9.1", "Gửi kết quả tự đánh giá trễ hạn", 3, "penalty", "0,5/ngày làm việc trễ"],
        ["9.2", "Tự chấm không trung thực", 3, "penalty", "1", "0,5 điểm/ngày làm việc trễ"],
    ]

    response = post_set(world.secretariat, xlsx(rows))

    assert response.status_code == 201, response.content
    framework = Framework.objects.get(pk=response.json()["id"])
    late, other = (Criterion.objects.get(framework=framework, code=c) for c in ("9.1", "9.2"))
    assert (late.config["points_each"], late.config["counts"]) == ("0.5", "late_working_days")
    assert scoring.counts_working_days_late(late)
    # The settings column decides; the rule's words do not make a deduction count days.
    assert not scoring.counts_working_days_late(other)
    exported = load_workbook(io.BytesIO(excel.export(framework))).worksheets[0]
    settings = {row[0].value: row[4].value for row in exported.iter_rows(min_row=2)}
    assert settings["9.1"] == "0,5/ngày làm việc trễ"
    assert settings["9.2"] == "1"


def _titles(framework: Framework) -> dict[str, str]:
    return dict(Criterion.objects.filter(framework=framework).values_list("code", "title"))


def test_structural_edits_keep_every_code_naming_the_criterion_it_named_last_year(
    world: Any,
) -> None:
    """Last year's comparison and filled workbooks refer to criteria by code: adding,
    removing and moving keep the codes in use, and a new criterion never takes a code last
    year's set gave to another one."""
    frozen = Framework.objects.get(cycle=world.cycle)
    copy = framework_services.copy_framework(frozen.pk, actor=world.secretariat)
    last_year = _titles(frozen)
    leaf = {"title": "Tiêu chí mới", "max_points": "1", "method": "yes_no"}

    framework_services.move_criterion(copy.pk, "1.1", step=1, actor=world.secretariat)
    framework_services.remove_criterion(copy.pk, "1.1.2", actor=world.secretariat)
    framework_services.add_criterion(copy.pk, "1.1", leaf, actor=world.secretariat)

    now = _titles(copy)
    kept = {code: title for code, title in now.items() if title != "Tiêu chí mới"}
    assert kept == {code: last_year[code] for code in kept}  # same code, same criterion
    assert set(last_year) - set(now) == {"1.1.2"}
    new_code = next(code for code, title in now.items() if title == "Tiêu chí mới")
    assert new_code == "1.1.3" and new_code not in last_year  # not the removed 1.1.2
    assert [c.code for c in copy.criteria.filter(depth=1, area__code="1").order_by("position")][
        :2
    ] == ["1.2", "1.1"]  # the order is the rows'


def test_the_codes_are_renumbered_in_order_only_when_the_secretariat_asks(
    world: Any,
) -> None:
    frozen = Framework.objects.get(cycle=world.cycle)
    copy = framework_services.copy_framework(frozen.pk, actor=world.secretariat)
    framework_services.move_criterion(copy.pk, "1.1", step=1, actor=world.secretariat)
    title_of_1_1 = _titles(frozen)["1.1"]

    framework_services.renumber_criteria(copy.pk, actor=world.secretariat)

    renumbered = copy.criteria.get(title=title_of_1_1, depth=1)
    assert renumbered.code == "1.2"
    assert copy.criteria.get(code="1.2.1").parent == renumbered  # its parts follow
    entry = AuditEntry.objects.filter(action=audit.FRAMEWORK_CHANGED).latest("pk")
    assert entry.data["change"] == "renumber" and entry.actor == world.secretariat
    assert entry.before is not None and entry.after is not None
    assert dict(zip(entry.before["codes"], entry.after["codes"], strict=True))["1.1"] == "1.2"


def test_a_frozen_set_is_not_renumbered(world: Any) -> None:
    frozen = Framework.objects.get(cycle=world.cycle)
    before, audited = _titles(frozen), AuditEntry.objects.count()
    with pytest.raises(Conflict):
        framework_services.renumber_criteria(frozen.pk, actor=world.secretariat)
    assert (_titles(frozen), AuditEntry.objects.count()) == (before, audited)


def test_the_codes_are_renumbered_through_the_api_by_the_secretariat_only(world: Any) -> None:
    frozen = Framework.objects.get(cycle=world.cycle)
    copy = framework_services.copy_framework(frozen.pk, actor=world.secretariat)
    framework_services.move_criterion(copy.pk, "1.1", step=1, actor=world.secretariat)
    before = _titles(copy)

    refused = api(world.leader).post(f"/api/v1/frameworks/{copy.pk}/renumber/")
    assert refused.status_code == 403 and _titles(copy) == before
    done = api(world.secretariat).post(f"/api/v1/frameworks/{copy.pk}/renumber/")

    assert done.status_code == 200, done.content
    assert [a["code"] for a in done.json()["tree"][0]["children"]][:2] == ["1.1", "1.2"]
    assert _titles(copy)["1.2"] == before["1.1"]


def test_the_api_names_the_codes_out_of_order_and_the_set_can_still_open_a_cycle(
    world: Any,
) -> None:
    """A move keeps the codes: the set's read and each edit's answer list the nodes whose
    code no longer follows its place, which refuses nothing, until the codes are renumbered."""
    frozen = Framework.objects.get(cycle=world.cycle)
    copy = framework_services.copy_framework(frozen.pk, actor=world.secretariat)
    client = api(world.secretariat)
    assert client.get(f"/api/v1/frameworks/{copy.pk}/").json()["codes_out_of_order"] == []

    moved = client.patch(f"/api/v1/frameworks/{copy.pk}/criteria/1.1/", {"step": 1}, format="json")

    assert moved.status_code == 200, moved.content
    expected = [
        {
            "code": "1.1",
            "title": "Kế hoạch CCHC năm",
            "message": "mã không theo thứ tự giữa các mục con của 1 "
            "(thứ tự đang hiển thị: 1.2, 1.1, 1.3, 1.4, 1.5, 1.6).",
        }
    ]
    assert moved.json()["codes_out_of_order"] == expected
    read = client.get(f"/api/v1/frameworks/{copy.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert read.json()["codes_out_of_order"][0]["message"] == (
        "its code is out of order among the parts of 1 (shown: 1.2, 1.1, 1.3, 1.4, 1.5, 1.6)."
    )
    assert read.json()["problems"] == [] and checks.set_problems(copy) == []  # a notice only

    renumbered = client.post(f"/api/v1/frameworks/{copy.pk}/renumber/")
    assert renumbered.json()["codes_out_of_order"] == []


def test_an_import_preview_names_the_codes_out_of_order(world: Any) -> None:
    before = counts()
    rows = [GOOD[0], GOOD[1], GOOD[3], GOOD[2]]  # 1.2 above 1.1
    response = post_set(world.secretariat, xlsx(rows), dry_run="true")
    assert response.status_code == 200, response.content
    assert [n["code"] for n in response.json()["codes_out_of_order"]] == ["1.1"]
    assert counts() == before
