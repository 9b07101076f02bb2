"""The rules as a table: every state × every role, as pure functions of the facts (no database).

Each row names who may do what in which states; every other combination must be refused with
a reason, and the kind of the first reason says which part refused (role, conflict of
interest, state, date).
"""

from __future__ import annotations

import ast
from datetime import date
from functools import partial
from pathlib import Path

import pytest

from cases.models import Case, Cycle
from cases.permissions import APPRAISER_PERMS, HEAD_PERMS, ROLE_PERMS, STAFF_PERMS
from workflow import rules
from workflow.rules import Facts, Kind

S = Case.State
STATES = list(S.values)


def _perms(role: str) -> frozenset[str]:
    return frozenset(
        code.rpartition(".")[2]
        for code in {
            "staff": STAFF_PERMS,
            "head": HEAD_PERMS,
            "appraiser": APPRAISER_PERMS,
            "secretariat": ROLE_PERMS["secretariat"],
            "leader": ROLE_PERMS["leader"],
            "auditor": ROLE_PERMS["auditor"],
            "system": ROLE_PERMS["system"],
            "outsider": (),
        }[role]
    )


ROLES = ["staff", "head", "appraiser", "secretariat", "leader", "auditor", "system", "outsider"]


def facts(role: str, state: str, **more: object) -> Facts:
    return Facts(state=state, perms=_perms(role), unit_name="Sở Nội vụ", **more)  # type: ignore[arg-type]


# Who may do what, in which states (the data guards of a transition aside).
TABLE: dict[str, tuple[rules.Predicate, set[str], set[str]]] = {
    "edit_self_score": (rules.edit_self_score, {"staff", "head"}, {S.SELF_SCORING}),
    "submit": (rules.transition("submit"), {"head"}, {S.SELF_SCORING}),
    "recall": (rules.transition("recall"), {"head"}, {S.SUBMITTED}),
    "lock_at_cutoff": (rules.transition("lock_at_cutoff"), {"system"}, {S.SELF_SCORING}),
    "start_appraisal": (
        rules.transition("start_appraisal"),
        {"secretariat", "system"},
        {S.SUBMITTED},
    ),
    "request_explanation": (
        rules.transition("request_explanation"),
        {"appraiser", "secretariat"},
        {S.APPRAISING},
    ),
    "submit_explanation": (rules.transition("submit_explanation"), {"head"}, {S.EXPLANATION}),
    "expire_explanation": (rules.transition("expire_explanation"), {"system"}, {S.EXPLANATION}),
    "finalise": (rules.transition("finalise"), {"secretariat"}, {S.APPRAISING}),
    "reopen": (rules.transition("reopen"), {"secretariat", "leader"}, {S.FINALISED}),
    "publish": (rules.transition("publish"), {"leader"}, {S.FINALISED}),
    "appraise": (
        rules.appraise,
        {"appraiser", "secretariat"},
        {S.APPRAISING, S.EXPLANATION},
    ),
    "ask": (rules.ask, {"appraiser", "secretariat"}, {S.APPRAISING}),
    "answer": (rules.answer, {"staff", "head"}, {S.EXPLANATION}),
    "extend": (
        rules.extend,
        {"secretariat"},
        {S.SELF_SCORING, S.SUBMITTED, S.EXPLANATION},
    ),
    "extend_self_assessment": (
        partial(rules.extend, kind="self_assessment"),
        {"secretariat"},
        {S.SELF_SCORING, S.SUBMITTED},
    ),
    "extend_explanation": (
        partial(rules.extend, kind="explanation"),
        {"secretariat"},
        {S.EXPLANATION},
    ),
    "add_evidence": (rules.add_evidence, {"staff", "head"}, {S.SELF_SCORING, S.EXPLANATION}),
    "withdraw_evidence": (rules.withdraw_evidence, {"staff", "head"}, {S.SELF_SCORING}),
    "attach_signed_report": (rules.attach_signed_report, {"head"}, {S.SELF_SCORING}),
}

CASES = [(action, role, state) for action in TABLE for role in ROLES for state in STATES]


@pytest.mark.parametrize(("action", "role", "state"), CASES)
def test_who_may_do_what_in_which_state(action: str, role: str, state: str) -> None:
    predicate, roles, states = TABLE[action]
    reasons = predicate(facts(role, state))
    if role in roles and state in states:
        assert reasons == []
    else:
        assert reasons, f"{role} may {action} in {state}"
        assert all(str(r) for r in reasons)
        expected = Kind.ROLE if role not in roles else Kind.STATE
        assert reasons[0].kind == expected


JUDGING_ACTIONS = [
    "start_appraisal",
    "request_explanation",
    "finalise",
    "reopen",
    "appraise",
    "ask",
]
JUDGES = [
    (action, role)
    for action in JUDGING_ACTIONS
    for role in ("appraiser", "secretariat", "leader")
    if role in TABLE[action][1]
]


@pytest.mark.parametrize(("action", "role"), JUDGES)
def test_nobody_judges_the_case_of_their_own_unit(action: str, role: str) -> None:
    predicate, _roles, states = TABLE[action]
    for state in states:
        reasons = predicate(facts(role, state, own_unit=True))
        assert [r.kind for r in reasons] == [Kind.CONFLICT]
        assert "Sở Nội vụ" in str(reasons[0])


def test_a_unit_member_still_works_on_its_own_case() -> None:
    assert rules.edit_self_score(facts("head", S.SELF_SCORING, own_unit=True)) == []
    assert rules.transition("submit")(facts("head", S.SELF_SCORING, own_unit=True)) == []
    assert rules.answer(facts("staff", S.EXPLANATION, own_unit=True)) == []


def test_the_leader_decides_the_ranking_only_of_other_units_and_only_before_publication() -> None:
    open_cycle = Cycle.Status.OPEN
    assert rules.decide_ranking(facts("leader", S.FINALISED, cycle_status=open_cycle)) == []
    own = rules.decide_ranking(facts("leader", S.FINALISED, own_unit=True))
    assert [r.kind for r in own] == [Kind.CONFLICT]
    for status in (Cycle.Status.DRAFT, Cycle.Status.PUBLISHED):
        late = rules.decide_ranking(facts("leader", S.PUBLISHED, cycle_status=status))
        assert [r.kind for r in late] == [Kind.STATE]
    for role in set(ROLES) - {"leader"}:
        assert rules.decide_ranking(facts(role, S.FINALISED))[0].kind == Kind.ROLE


def test_self_scores_stop_at_the_deadline() -> None:
    passed = facts("head", S.SELF_SCORING, self_due=date(2026, 3, 15), self_due_passed=True)
    reasons = rules.edit_self_score(passed)
    assert [r.kind for r in reasons] == [Kind.DATE]
    assert "15/03/2026" in str(reasons[0])


def test_an_appraiser_scores_only_their_areas_and_never_the_survey() -> None:
    mine = facts("appraiser", S.APPRAISING, areas=frozenset({"1"}))
    assert (
        rules.appraise_criterion(mine, code="1.1", area="1", survey=False, open_question=False)
        == []
    )
    other = rules.appraise_criterion(mine, code="2.1", area="2", survey=False, open_question=False)
    assert [r.kind for r in other] == [Kind.ROLE]
    survey = rules.appraise_criterion(mine, code="1.9", area="1", survey=True, open_question=False)
    assert [r.kind for r in survey] == [Kind.INPUT]


def test_an_appraiser_questions_only_their_areas_and_never_the_survey() -> None:
    mine = facts("appraiser", S.APPRAISING, areas=frozenset({"1"}))
    assert rules.ask_criterion(mine, code="1.1", area="1", survey=False) == []
    other = rules.ask_criterion(mine, code="2.1", area="2", survey=False)
    assert [r.kind for r in other] == [Kind.ROLE]
    survey = rules.ask_criterion(mine, code="1.9", area="1", survey=True)
    assert [r.kind for r in survey] == [Kind.INPUT] and "1.9" in str(survey[0])
    late = rules.ask_criterion(facts("appraiser", S.FINALISED), code="1.1", area="1", survey=False)
    assert [r.kind for r in late] == [Kind.STATE]


def test_the_explanation_round_holds_only_the_questioned_criteria() -> None:
    waiting = facts("appraiser", S.EXPLANATION, areas=frozenset({"1"}))
    questioned = rules.appraise_criterion(
        waiting, code="1.1", area="1", survey=False, open_question=True
    )
    assert [r.kind for r in questioned] == [Kind.STATE]
    assert "1.1" in str(questioned[0])
    quiet = rules.appraise_criterion(
        waiting, code="1.2", area="1", survey=False, open_question=False
    )
    assert quiet == []


def test_transitions_allowed_lists_the_buttons_a_page_draws() -> None:
    assert rules.transitions_allowed(facts("head", S.SELF_SCORING)) == ["submit"]
    assert rules.transitions_allowed(facts("secretariat", S.APPRAISING)) == [
        "request_explanation",
        "finalise",
    ]
    assert rules.transitions_allowed(facts("secretariat", S.APPRAISING, own_unit=True)) == []
    assert rules.transitions_allowed(facts("auditor", S.FINALISED)) == []


# --- one home: no permission asked anywhere else -------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
# Every package of the application (not the tests or the benchmarks): a new app is covered
# the day it is added.
APPS = sorted(
    path.parent.name
    for path in ROOT.glob("*/__init__.py")
    if path.parent.name not in ("tests", "bench")
)


def _has_perm_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("has_perm", "has_perms")
    ]


def test_no_permission_is_asked_outside_the_permissions_module() -> None:
    found = {
        f"{path.relative_to(ROOT)}:{line}"
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if path.relative_to(ROOT).as_posix() != "cases/permissions.py"
        for line in _has_perm_calls(path)
    }
    assert found == set(), "ask cases.permissions (or workflow.rules) instead"


def test_the_scan_covers_every_app() -> None:
    assert {"cases", "workflow", "results", "ops", "web", "config"} <= set(APPS)


def test_the_scan_finds_a_has_perm_call(tmp_path: Path) -> None:
    sample = tmp_path / "view.py"
    sample.write_text("def view(request):\n    return request.user.has_perm('cases.view_cycle')\n")
    assert _has_perm_calls(sample) == [2]


def test_evidence_is_added_until_the_deadline_and_again_to_answer_questions() -> None:
    passed = {"self_due": date(2026, 3, 15), "self_due_passed": True}
    late = rules.add_evidence(facts("staff", S.SELF_SCORING, **passed))
    assert [r.kind for r in late] == [Kind.DATE] and "15/03/2026" in str(late[0])
    assert [r.kind for r in rules.withdraw_evidence(facts("head", S.SELF_SCORING, **passed))] == [
        Kind.DATE
    ]
    # The self-assessment date does not bind the answers of an explanation round.
    assert rules.add_evidence(facts("staff", S.EXPLANATION, **passed)) == []
    frozen = rules.add_evidence(facts("staff", S.SUBMITTED))
    assert [r.kind for r in frozen] == [Kind.STATE]


def test_the_signed_report_is_attached_until_the_deadline_as_the_sending() -> None:
    passed = {"self_due": date(2026, 3, 31), "self_due_passed": True}
    late = rules.attach_signed_report(facts("head", S.SELF_SCORING, **passed))
    assert [r.kind for r in late] == [Kind.DATE]
    assert "31/03/2026" in str(late[0])
    assert rules.attach_signed_report(facts("head", S.SELF_SCORING)) == []
