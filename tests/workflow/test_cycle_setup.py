"""The secretariat creates a cycle through the API, chooses its criteria sets and opens it;
every bad setting is named and changes nothing."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from cases.models import Case, Criterion, Cycle, Framework, Score, Unit, UnitGroup
from tests.helpers import api
from workflow import audit
from workflow.cycle_settings import label
from workflow.framework_services import copy_framework
from workflow.models import AuditEntry

NEXT_YEAR = {
    "year": 2031,
    "authority": "UBND tỉnh Thử nghiệm",
    "plan_number": "12/KH-UBND",
    "plan_date": "15/01/2032",
    "basis_decision_number": "345/QĐ-UBND",
    "basis_decision_date": "20/01/2032",
    "self_assessment_due": "31/03/2032",
    "survey_due": "30/04/2032",
    "appraisal_due": "10/05/2032",
    "publication_target": "30/06/2032",
    "explanation_window_days": 7,
    "self_weight": "75",
    "survey_weight": 25,
    "group_thresholds": [
        {"group": "A", "min": 90, "label": "xuất sắc"},
        {"group": "B", "min": "80", "label": "tốt"},
        {"group": "C", "min": 65, "label": "khá"},
        {"group": "D", "min": 0, "label": "yếu"},
    ],
    "group_basis": "index",
    "reminder_offsets": [5, 1],
    "overdue_reminder": False,
    "auto_start_appraisal": True,
    "signed_report_required": True,
}


def create(user: Any, body: dict[str, Any]) -> Any:
    return api(user).post("/api/v1/cycles/", body, format="json")


def counts() -> tuple[int, ...]:
    return (
        Cycle.objects.count(),
        Framework.objects.count(),
        Criterion.objects.count(),
        Case.objects.count(),
        AuditEntry.objects.count(),
    )


def test_the_secretariat_creates_a_draft_cycle_with_every_setting(world: SimpleNamespace) -> None:
    response = create(world.secretariat, NEXT_YEAR)
    assert response.status_code == 201, response.json()
    body = response.json()
    cycle = Cycle.objects.get(pk=body["id"])
    assert (cycle.status, cycle.year, cycle.run_year) == ("draft", 2031, 2032)
    assert cycle.title == "Chỉ số cải cách hành chính năm 2031"
    assert (cycle.plan_number, str(cycle.plan_date)) == ("12/KH-UBND", "2032-01-15")
    assert (cycle.basis_decision_number, str(cycle.basis_decision_date)) == (
        "345/QĐ-UBND",
        "2032-01-20",
    )
    assert [str(d) for d in (cycle.survey_due, cycle.appraisal_due, cycle.publication_target)] == [
        "2032-04-30",
        "2032-05-10",
        "2032-06-30",
    ]
    assert (cycle.self_weight, cycle.survey_weight) == (Decimal(75), Decimal(25))
    assert cycle.group_thresholds[1] == {"group": "B", "min": 80, "label": "tốt"}
    assert (cycle.group_basis, cycle.reminder_offsets, cycle.explanation_window_days) == (
        "index",
        [5, 1],
        7,
    )
    assert (cycle.overdue_reminder, cycle.auto_start_appraisal, cycle.signed_report_required) == (
        False,
        True,
        True,
    )
    entry = AuditEntry.objects.get(action="cases.cycle.created", cycle=cycle)
    assert entry.actor == world.secretariat and entry.after is not None
    assert entry.after["plan_number"] == "12/KH-UBND"


def test_a_set_used_by_another_cycle_is_copied_as_a_new_version(world: SimpleNamespace) -> None:
    used = world.cycle.frameworks.get()
    response = create(world.secretariat, {**NEXT_YEAR, "frameworks": [used.pk]})
    assert response.status_code == 201, response.json()
    (bound,) = response.json()["frameworks"]
    copy = Framework.objects.get(pk=bound["id"])
    assert (bound["version"], bound["derived_from"], bound["group"]) == (2, used.pk, "khoi_so")
    assert copy.cycle_id == response.json()["id"] and copy.pk != used.pk
    tree = ("code", "parent__code", "area__code", "max_points", "method", "config", "is_leaf")
    assert list(copy.criteria.order_by("position").values_list(*tree)) == list(
        used.criteria.order_by("position").values_list(*tree)
    )
    used.refresh_from_db()
    assert used.cycle_id == world.cycle.pk  # the open cycle keeps the set its cases use
    entry = AuditEntry.objects.get(action="cases.framework.bound")
    assert entry.data["copied_from"] == used.pk and entry.actor == world.secretariat


def test_a_set_not_yet_used_is_bound_as_it_is(world: SimpleNamespace) -> None:
    spare = copy_framework(world.cycle.frameworks.get().pk, actor=world.secretariat)
    response = create(world.secretariat, {**NEXT_YEAR, "frameworks": [spare.pk]})
    assert response.status_code == 201, response.json()
    assert [f["id"] for f in response.json()["frameworks"]] == [spare.pk]


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        ({"year": None}, ["Năm", "bắt buộc"]),
        ({"year": "hai nghìn"}, ["bốn chữ số"]),
        ({"self_assessment_due": "31.03.2032"}, ["không phải là ngày"]),
        ({"appraisal_due": "01/03/2032"}, ["phải sau hạn tự đánh giá"]),
        ({"survey_due": "11/05/2032"}, ["điều tra"]),
        ({"run_year": 2030}, ["trước năm"]),
        ({"self_weight": 80}, ["100"]),
        ({"survey_weight": -5}, ["từ 0 đến 100"]),
        ({"group_thresholds": [{"group": "A", "min": 50}]}, ["bắt đầu từ 0"]),
        ({"group_thresholds": [{"group": "A", "min": 0}, {"group": "A", "min": 50}]}, ["trùng"]),
        ({"group_thresholds": "A, B"}, ["nhóm"]),
        ({"group_basis": "mood"}, ["total, index"]),
        ({"reminder_offsets": [-1]}, ["Số ngày nhắc"]),
        ({"colour": "đỏ"}, ["colour"]),
        ({"frameworks": [999999]}, ["999999"]),
        ({"frameworks": "tất cả"}, ["danh sách"]),
    ],
)
def test_a_bad_setting_is_named_and_nothing_is_created(
    world: SimpleNamespace, change: dict[str, Any], fragments: list[str]
) -> None:
    before = counts()
    body = {k: v for k, v in {**NEXT_YEAR, **change}.items() if v is not None}
    response = create(world.secretariat, body)
    assert response.status_code == 400
    said = " ".join([response.json()["detail"], *response.json()["errors"]])
    for fragment in fragments:
        assert fragment in said
    assert counts() == before


def test_every_problem_is_named_at_once(world: SimpleNamespace) -> None:
    before = counts()
    response = create(world.secretariat, {"year": 1900, "self_assessment_due": "mai"})
    assert response.status_code == 400
    said = [response.json()["detail"], *response.json()["errors"]]
    assert len(said) == 4, said  # the year, the date, and the two settings left out
    assert counts() == before


def test_two_sets_for_one_unit_group_are_refused(world: SimpleNamespace) -> None:
    used = world.cycle.frameworks.get()
    spare = copy_framework(used.pk, actor=world.secretariat)
    before = counts()
    response = create(world.secretariat, {**NEXT_YEAR, "frameworks": [used.pk, spare.pk]})
    assert response.status_code == 400
    assert "Khối sở" in response.json()["detail"]
    assert counts() == before


def test_only_the_secretariat_creates_a_cycle(world: SimpleNamespace) -> None:
    before = counts()
    for user in (world.leader, world.auditor, world.head_a, world.appraiser):
        assert create(user, NEXT_YEAR).status_code == 403
    assert create(None, NEXT_YEAR).status_code in (401, 403)
    assert counts() == before


def _draft(world: SimpleNamespace, **change: Any) -> Cycle:
    response = create(world.secretariat, {**NEXT_YEAR, **change})
    assert response.status_code == 201, response.json()
    return Cycle.objects.get(pk=response.json()["id"])


def open_(user: Any, cycle: Cycle) -> Any:
    return api(user).post(f"/api/v1/cycles/{cycle.pk}/open/", {}, format="json")


def test_opening_a_cycle_whose_group_has_no_set_is_refused_with_the_group(
    world: SimpleNamespace,
) -> None:
    cycle = _draft(world)
    before = counts()
    response = open_(world.secretariat, cycle)
    assert response.status_code == 400
    assert "Khối sở (2 đơn vị) chưa có bộ tiêu chí" in response.json()["errors"][0]
    cycle.refresh_from_db()
    assert cycle.status == "draft" and counts() == before


def test_opening_a_cycle_whose_set_does_not_sum_is_refused_with_the_criterion(
    world: SimpleNamespace,
) -> None:
    cycle = _draft(world, frameworks=[world.cycle.frameworks.get().pk])
    Criterion.objects.filter(framework__cycle=cycle, code="1.1.1").update(max_points=2)
    before = counts()
    response = open_(world.secretariat, cycle)
    assert response.status_code == 400
    (problem,) = response.json()["errors"]
    assert "1.1 “Kế hoạch CCHC năm”: điểm tối đa là 2,5 nhưng tổng các mục con là 3,5" in problem
    cycle.refresh_from_db()
    assert cycle.status == "draft" and counts() == before


def test_opening_creates_a_case_with_a_score_row_per_leaf_for_every_active_unit(
    world: SimpleNamespace,
) -> None:
    group_xa = UnitGroup.objects.create(code="khoi_xa", name="Khối xã")
    Unit.objects.create(code="XOLD", name="Xã cũ", group=group_xa, is_active=False)
    cycle = _draft(world, frameworks=[world.cycle.frameworks.get().pk])
    response = open_(world.secretariat, cycle)
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "open"
    leaves = Criterion.objects.filter(framework__cycle=cycle, is_leaf=True).count()
    assert leaves == world.cycle.frameworks.get().criteria.filter(is_leaf=True).count() > 0
    cases = Case.objects.filter(cycle=cycle)
    assert sorted(c.unit.code for c in cases) == ["STC", "STP"]
    for case in cases:
        assert Score.objects.filter(case=case, criterion__framework__cycle=cycle).count() == leaves


def test_a_draft_takes_every_setting_an_open_cycle_only_its_deadlines(
    world: SimpleNamespace,
) -> None:
    cycle = _draft(world)
    url = f"/api/v1/cycles/{cycle.pk}/"
    response = api(world.secretariat).patch(
        url, {"self_weight": 60, "survey_weight": 40, "plan_number": "13/KH"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["self_weight"], response.json()["plan_number"]) == ("60.00", "13/KH")
    before = Cycle.objects.filter(pk=world.cycle.pk).values().get()
    response = api(world.secretariat).patch(
        f"/api/v1/cycles/{world.cycle.pk}/", {"self_weight": 60}, format="json"
    )
    assert response.status_code == 400
    assert "self_weight" in response.json()["detail"]
    assert Cycle.objects.filter(pk=world.cycle.pk).values().get() == before


def test_the_set_of_an_open_cycle_cannot_be_replaced(world: SimpleNamespace) -> None:
    spare = copy_framework(world.cycle.frameworks.get().pk, actor=world.secretariat)
    before = counts()
    response = api(world.secretariat).post(
        f"/api/v1/cycles/{world.cycle.pk}/frameworks/", {"framework": spare.pk}, format="json"
    )
    assert response.status_code == 409
    assert world.cycle.title in response.json()["detail"]
    assert counts() == before


def test_choosing_another_set_for_a_draft_unbinds_the_previous_one(
    world: SimpleNamespace,
) -> None:
    used = world.cycle.frameworks.get()
    cycle = _draft(world, frameworks=[used.pk])
    first = cycle.frameworks.get()
    spare = copy_framework(used.pk, actor=world.secretariat)
    response = api(world.secretariat).post(
        f"/api/v1/cycles/{cycle.pk}/frameworks/", {"framework": spare.pk}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert list(cycle.frameworks.values_list("pk", flat=True)) == [spare.pk]
    first.refresh_from_db()
    assert first.cycle_id is None  # kept, as a set not used by any cycle


@pytest.mark.parametrize("chosen", [None, "", "abc", "²", True, [1], {"id": 1}, 0, 10**15])
def test_a_set_chosen_by_something_other_than_its_id_is_refused_and_nothing_changes(
    world: SimpleNamespace, chosen: Any
) -> None:
    cycle = _draft(world)
    before = (list(cycle.frameworks.values_list("pk", flat=True)), AuditEntry.objects.count())
    response = api(world.secretariat).post(
        f"/api/v1/cycles/{cycle.pk}/frameworks/", {"framework": chosen}, format="json"
    )
    assert response.status_code == 400
    assert "chọn một bộ tiêu chí" in " ".join(
        [response.json()["detail"], *response.json()["errors"]]
    )
    assert (
        list(cycle.frameworks.values_list("pk", flat=True)),
        AuditEntry.objects.count(),
    ) == before


def _reward_rule(world: SimpleNamespace, rule: Any) -> Any:
    return api(world.secretariat).patch(
        f"/api/v1/cycles/{world.cycle.pk}/", {"reward_rule": rule}, format="json"
    )


def test_the_secretariat_sets_who_is_proposed_for_rewards_while_the_cycle_runs(
    world: SimpleNamespace,
) -> None:
    response = _reward_rule(world, {"groups": "A, B", "top": "2"})
    assert response.status_code == 200, response.json()
    assert response.json()["reward_rule"] == {"groups": ["A", "B"], "top": 2}
    entry = AuditEntry.objects.filter(action=audit.CYCLE_CHANGED).latest("pk")
    assert entry.after == {"reward_rule": {"groups": ["A", "B"], "top": 2}}
    assert entry.before == {"reward_rule": {"groups": ["A"], "top": 3}}


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ({"groups": ["Z"], "top": 1}, "Z: không phải là nhóm của đợt này (các nhóm: A, B, C, D)"),
        ({"groups": ["A"], "top": 99}, "từ 0 đến 50"),
        ({"groups": ["A"], "top": "ba"}, "từ 0 đến 50"),
        ({"groups": [{"A": 1}], "top": 1}, "mã nhóm"),
        ("A, 3", "nhóm"),
        ({"groups": ["A"], "top": 1, "every": True}, "nhóm"),
    ],
)
def test_a_reward_rule_that_cannot_be_applied_is_named_and_changes_nothing(
    world: SimpleNamespace, rule: Any, fragment: str
) -> None:
    before = (Cycle.objects.get(pk=world.cycle.pk).reward_rule, AuditEntry.objects.count())
    response = _reward_rule(world, rule)
    assert response.status_code == 400
    assert fragment in " ".join([response.json()["detail"], *response.json()["errors"]])
    assert (Cycle.objects.get(pk=world.cycle.pk).reward_rule, AuditEntry.objects.count()) == before


def test_the_reward_rule_of_published_results_is_settled(world: SimpleNamespace) -> None:
    Cycle.objects.filter(pk=world.cycle.pk).update(status=Cycle.Status.PUBLISHED)
    before = AuditEntry.objects.count()
    response = _reward_rule(world, {"groups": ["A", "B"], "top": 10})
    assert response.status_code == 400
    assert "đã công bố" in response.json()["detail"]
    assert Cycle.objects.get(pk=world.cycle.pk).reward_rule == {"groups": ["A"], "top": 3}
    assert AuditEntry.objects.count() == before


def test_the_secretariat_sending_a_title_as_an_object_gets_the_field_named(
    world: SimpleNamespace,
) -> None:
    before = (counts(), Cycle.objects.get(pk=world.cycle.pk).title)
    for title in ({"vi": "Chỉ số CCHC"}, ["Chỉ số CCHC"], True):
        response = create(world.secretariat, {**NEXT_YEAR, "title": title})
        assert response.status_code == 400
        assert response.json()["detail"] == f"{label('title')}: Không phải là chuỗi ký tự hợp lệ."
        response = api(world.secretariat).patch(
            f"/api/v1/cycles/{world.cycle.pk}/", {"title": title}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["detail"] == f"{label('title')}: Không phải là chuỗi ký tự hợp lệ."
    assert (counts(), Cycle.objects.get(pk=world.cycle.pk).title) == before


def test_an_open_cycle_refuses_a_setting_it_no_longer_takes_whatever_its_value(
    world: SimpleNamespace,
) -> None:
    """The state rule comes first: a weight of an open cycle is refused as settled, not read."""
    before = Cycle.objects.filter(pk=world.cycle.pk).values().get()
    for weight in (60, "sáu mươi", {"a": 1}):
        response = api(world.secretariat).patch(
            f"/api/v1/cycles/{world.cycle.pk}/", {"self_weight": weight}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["errors"] == []
        assert "self_weight" in response.json()["detail"]
    assert Cycle.objects.filter(pk=world.cycle.pk).values().get() == before


def test_someone_else_sending_bad_settings_learns_nothing_of_them(world: SimpleNamespace) -> None:
    before = counts()
    for user in (world.leader, world.head_a):
        response = create(user, {"year": "ba", "title": ["x"], "frameworks": "tất cả"})
        assert response.status_code == 403
        assert "errors" not in response.json() or not response.json()["errors"]
    assert counts() == before
