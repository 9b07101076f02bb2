"""The criteria editor's API checks the types of what it is sent before the set is touched:
a text where text belongs, a number or the workbook's way of writing one for the maximum,
true/false (or the workbook's yes/no words) for the flags, a whole number for a move. A
wrong type is refused with 400 naming the field, in the reader's language, and the set and
its audit stay as they were; what the editor sends today keeps working."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from drf_spectacular.generators import SchemaGenerator

from cases.frameworks import tree
from cases.models import Criterion, Framework
from tests.framework_files import framework_changes
from tests.helpers import api
from workflow import framework_services
from workflow.models import AuditEntry

# No module-wide django_db mark: the tests that need the database take `world` (and with it
# the database), the schema's test needs none, and so the province is built once for the
# module (tests/sharing.py).

OBJECT = {"a": 1}
DETAILS = "/api/v1/frameworks/{pk}/"
CRITERIA = "/api/v1/frameworks/{pk}/criteria/"
LEAF = "/api/v1/frameworks/{pk}/criteria/1.1.1/"
NEW = {"parent": "1.1", "title": "Công khai kế hoạch", "max_points": "0,5", "method": "yes_no"}

# (HTTP method, URL, body, the field the refusal names)
WRONG = [
    ("patch", DETAILS, {"title": OBJECT}, "title"),
    ("patch", DETAILS, {"title": True}, "title"),
    ("patch", DETAILS, {"decision_number": ["123"]}, "decision_number"),
    ("patch", DETAILS, {"decision_date": OBJECT}, "decision_date"),
    ("patch", DETAILS, {"decision_signer": [1]}, "decision_signer"),
    ("post", CRITERIA, {**NEW, "title": OBJECT}, "title"),
    ("post", CRITERIA, {**NEW, "parent": OBJECT}, "parent"),
    ("post", CRITERIA, {**NEW, "max_points": OBJECT}, "max_points"),
    ("post", CRITERIA, {**NEW, "max_points": True}, "max_points"),
    ("post", CRITERIA, {**NEW, "method": ["yes_no"]}, "method"),
    ("post", CRITERIA, {**NEW, "evidence_required": OBJECT}, "evidence_required"),
    ("patch", LEAF, {"title": ["Mới"]}, "title"),
    ("patch", LEAF, {"max_points": [1]}, "max_points"),
    ("patch", LEAF, {"method": OBJECT}, "method"),
    ("patch", LEAF, {"settings": ["a"]}, "settings"),
    ("patch", LEAF, {"rule": OBJECT}, "rule"),
    ("patch", LEAF, {"guidance": OBJECT}, "guidance"),
    ("patch", LEAF, {"data_source": [1]}, "data_source"),
    ("patch", LEAF, {"evidence_required": 1}, "evidence_required"),
    ("patch", LEAF, {"not_applicable_allowed": [True]}, "not_applicable_allowed"),
    # a move: a whole number of places, a parent's code
    ("patch", LEAF, {"step": "up"}, "step"),
    ("patch", LEAF, {"step": 1.5}, "step"),
    ("patch", LEAF, {"step": True}, "step"),
    ("patch", LEAF, {"parent": OBJECT}, "parent"),
    # a good change is not made when the move sent with it is refused
    ("patch", LEAF, {"title": "Tên mới", "step": OBJECT}, "step"),
]


@pytest.fixture
def draft(world: Any) -> Framework:
    """This year's set, copied from last year's frozen one: a draft the editor may change."""
    frozen = Framework.objects.get(cycle=world.cycle)
    return framework_services.copy_framework(frozen.pk, actor=world.secretariat)


def state(framework: Framework) -> tuple[Any, ...]:
    framework.refresh_from_db()
    details = tuple(getattr(framework, k) for k in framework_services.DETAIL_FIELDS)
    return details, tree.from_framework(framework).as_list(), AuditEntry.objects.count()


@pytest.mark.parametrize(("method", "url", "body", "field"), WRONG)
def test_the_secretariat_sending_a_wrong_type_is_told_which_field_and_nothing_changes(
    world: Any, draft: Framework, method: str, url: str, body: dict[str, Any], field: str
) -> None:
    before = state(draft)
    response = getattr(api(world.secretariat), method)(
        url.format(pk=draft.pk), body, format="json", headers={"Accept-Language": "vi"}
    )
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["detail"] == "Dữ liệu gửi lên không hợp lệ."
    assert [e.split(":")[0] for e in answer["errors"]] == [field]
    assert answer["errors"][0].split(": ", 1)[1] in {
        "Không phải là chuỗi ký tự hợp lệ.",
        "Cần nhập một số, ví dụ 1,5.",
        "Phải là true hoặc false (hoặc Có, Không).",
        "Cần nhập một số nguyên hợp lệ.",
    }
    assert state(draft) == before


def test_an_english_reader_is_told_in_english(world: Any, draft: Framework) -> None:
    before = state(draft)
    response = api(world.secretariat).patch(
        DETAILS.format(pk=draft.pk),
        {"title": OBJECT},
        format="json",
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == ["title: Not a valid string."]
    assert state(draft) == before


def test_the_title_sent_as_an_object_is_not_stored_as_its_text(
    world: Any, draft: Framework
) -> None:
    api(world.secretariat).patch(DETAILS.format(pk=draft.pk), {"title": OBJECT}, format="json")
    draft.refresh_from_db()
    assert "{" not in draft.title


def test_the_editors_usual_edits_still_go_through_as_typed(world: Any, draft: Framework) -> None:
    """Numbers as numbers or as the workbook writes them, flags as true/false or Có/Không,
    a step as a number or its text: each read as before, each audited."""
    client = api(world.secretariat)
    audited = AuditEntry.objects.count()

    renamed = client.patch(
        DETAILS.format(pk=draft.pk), {"title": "Bộ tiêu chí 2027"}, format="json"
    )
    assert renamed.status_code == 200, renamed.content
    added = client.post(
        CRITERIA.format(pk=draft.pk),
        {**NEW, "evidence_required": True, "not_applicable_allowed": "Không"},
        format="json",
    )
    assert added.status_code == 201, added.content
    changed = client.patch(
        LEAF.format(pk=draft.pk),
        {"max_points": 0.5, "evidence_required": "Có", "not_applicable_allowed": False},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    moved = client.patch(CRITERIA.format(pk=draft.pk) + "1.1.3/", {"step": "-2"}, format="json")
    assert moved.status_code == 200, moved.content

    draft.refresh_from_db()
    assert draft.title == "Bộ tiêu chí 2027"
    new = Criterion.objects.get(framework=draft, code="1.1.3")
    assert (new.max_points, new.evidence_required, new.not_applicable_allowed) == (
        Decimal("0.5"),
        True,
        False,
    )
    leaf = Criterion.objects.get(framework=draft, code="1.1.1")
    assert (leaf.max_points, leaf.evidence_required, leaf.not_applicable_allowed) == (
        Decimal("0.5"),
        True,
        False,
    )
    siblings = Criterion.objects.filter(framework=draft, parent__code="1.1").order_by("position")
    assert [c.code for c in siblings] == ["1.1.3", "1.1.1", "1.1.2"]
    changes = framework_changes(draft)
    assert [e.data["change"] for e in changes] == [
        "details",
        "add",
        "change",
        "move",
    ]
    assert AuditEntry.objects.count() == audited + 4


def test_a_form_posted_edit_reads_its_empty_step_as_no_move(world: Any, draft: Framework) -> None:
    response = api(world.secretariat).patch(
        LEAF.format(pk=draft.pk),
        urlencode({"title": "Ban hành kế hoạch", "step": "", "evidence_required": ""}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.content
    changes = framework_changes(draft)
    assert [e.data["change"] for e in changes] == ["change"]
    leaf = Criterion.objects.get(framework=draft, code="1.1.1")
    assert (leaf.title, leaf.evidence_required) == ("Ban hành kế hoạch", False)


def test_the_schema_documents_each_editor_body_with_its_types() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)

    def body(path: str, method: str) -> dict[str, Any]:
        content = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
        name = content["schema"]["$ref"].rsplit("/", 1)[1]
        properties: dict[str, Any] = schema["components"]["schemas"][name]["properties"]
        return properties

    details = body("/api/v1/frameworks/{id}/", "patch")
    added = body("/api/v1/frameworks/{id}/criteria/", "post")
    changed = body("/api/v1/frameworks/{id}/criteria/{code}/", "patch")
    assert set(details) == set(framework_services.DETAIL_FIELDS)
    assert details["title"]["type"] == "string"
    assert "step" not in added and added["parent"]["type"] == "string"
    assert changed["step"]["type"] == "integer"
    assert changed["max_points"]["oneOf"] == [{"type": "number"}, {"type": "string"}]
    assert changed["evidence_required"]["oneOf"] == [{"type": "boolean"}, {"type": "string"}]


@pytest.mark.parametrize("raw", ["[1, 2]", '"Khác"', "null", "3"])
@pytest.mark.parametrize("url", [DETAILS, CRITERIA, LEAF])
def test_a_body_that_is_not_an_object_is_refused_and_changes_nothing(
    world: Any, draft: Framework, url: str, raw: str
) -> None:
    before = state(draft)
    client = api(world.secretariat)
    method = client.post if url == CRITERIA else client.patch
    response = method(
        url.format(pk=draft.pk),
        raw,
        content_type="application/json",
        headers={"Accept-Language": "vi"},
    )
    assert response.status_code == 400, response.content
    assert response.json()["detail"] == "Dữ liệu gửi lên không hợp lệ."
    assert state(draft) == before


@pytest.mark.parametrize("points", [1e30, "1" + "0" * 30, "0,001", -1, "999999999999999999,5"])
def test_a_maximum_out_of_the_columns_reach_is_refused_naming_it(
    world: Any, draft: Framework, points: Any
) -> None:
    """Beyond what a decimal of the project's precision holds, or below zero: the service's
    own refusal, in the reader's language, never a server error."""
    before = state(draft)
    response = api(world.secretariat).patch(
        LEAF.format(pk=draft.pk),
        {"max_points": points},
        format="json",
        headers={"Accept-Language": "vi"},
    )
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith("Điểm tối đa: ")
    assert state(draft) == before
