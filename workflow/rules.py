"""May this user do this to this case now: the one answer services and pages both ask.

A decision has three parts, asked in this order: the role (the codenames `cases.permissions`
grants the user on the case), the conflict of interest (a member of the case's unit never
judges it: appraises, questions, finalises, reopens or decides its ranking), then the state
and the dates. Each predicate is a pure function of `Facts` and returns the reasons it
refuses, empty when allowed; `facts_for` gathers the facts once, `enforce` turns the first
reason into the refusal a service raises (403 role or conflict, 409 state, 400 date).

What a transition additionally demands of the case's data (every criterion scored, every
question answered …) stays in the transition table's guards (`workflow.transitions`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cases import permissions
from cases.errors import DomainError, GuardFailed, InvalidInput, NotAllowed, WrongState
from cases.models import Case, Cycle
from cases.users import User
from deadlines import policy
from deadlines.calendar import is_past
from workflow.transitions import TRANSITIONS

S = Case.State


class Kind(StrEnum):
    ROLE = "role"
    CONFLICT = "conflict"
    STATE = "state"
    DATE = "date"
    INPUT = "input"


@dataclass(frozen=True)
class Reason:
    """Why an action is refused, in the user's words, and which part of the rule refused."""

    kind: Kind
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Facts:
    """Everything the predicates read about one user and one case at one moment."""

    state: str
    perms: frozenset[str]
    own_unit: bool = False
    # Speaks for the case's unit on the cycle's appraisal council (whatever their role).
    represents: bool = False
    cycle_status: str = Cycle.Status.OPEN
    self_due: date | None = None
    self_due_passed: bool = False
    unit_name: str = ""
    # Area codes the user appraises on this case; None means every area (the secretariat).
    areas: frozenset[str] | None = field(default=None)


Predicate = Callable[[Facts], list[Reason]]

# Codenames that judge a case: never exercised on one's own unit.
JUDGING = frozenset(
    {
        "appraise_case",
        "ask_clarification",
        "request_explanation",
        "start_appraisal",
        "finalise_case",
        "reopen_case",
    }
)

# What a member of the unit or its representative on the council may not do to its case.
CONFLICTED = JUDGING | {"publish_case"}

# The source states of each transition, read from the state machine itself.
SOURCES: dict[str, frozenset[str]] = {}
for _t in Case._meta.get_field("state").get_all_transitions(Case):
    SOURCES.setdefault(_t.name, frozenset())
    SOURCES[_t.name] = SOURCES[_t.name] | {_t.source}


def _state_label(state: str) -> str:
    return str(S(state).label)


def _role(f: Facts, codename: str) -> list[Reason]:
    if codename not in f.perms:
        return [Reason(Kind.ROLE, _("You are not allowed to do this on this case."))]
    return []


def _conflict(f: Facts, codename: str) -> list[Reason]:
    if codename in JUDGING:
        return _own_unit(f, _("You belong to %(unit)s: you may not judge its own case."))
    return []


def _own_unit(f: Facts, message: str) -> list[Reason]:
    """The conflict of interest: a member of the case's unit, or its representative on the
    appraisal council, does not judge it."""
    unit = {"unit": f.unit_name or _("this unit")}
    if f.own_unit:
        return [Reason(Kind.CONFLICT, message % unit)]
    if f.represents:
        return [
            Reason(
                Kind.CONFLICT,
                _("You represent %(unit)s on the appraisal council: you may not judge its case.")
                % unit,
            )
        ]
    return []


def _in_states(f: Facts, states: Iterable[str], message: str | None = None) -> list[Reason]:
    if f.state in set(states):
        return []
    return [
        Reason(
            Kind.STATE,
            message
            or _("Not possible while the case is in the state “%(state)s”.")
            % {"state": _state_label(f.state)},
        )
    ]


def _self_deadline(f: Facts) -> list[Reason]:
    if f.self_due_passed and f.self_due is not None:
        return [
            Reason(
                Kind.DATE,
                _("The self-assessment deadline passed on %(date)s.")
                % {"date": date_format(f.self_due, "d/m/Y")},
            )
        ]
    return []


def _by_survey(survey: bool, message: str, code: str) -> list[Reason]:
    """A criterion the survey import scores: nothing the council or the unit may change."""
    return [Reason(Kind.INPUT, message % {"code": code})] if survey else []


def _first(*parts: Callable[[], list[Reason]]) -> list[Reason]:
    """The reasons of the first part that refuses: a role refusal hides the state."""
    for part in parts:
        reasons = part()
        if reasons:
            return reasons
    return []


# --- the predicates ------------------------------------------------------------------------


def edit_self_score(f: Facts) -> list[Reason]:
    """The unit's staff and head score their own case until the (extended) deadline."""
    return _first(
        lambda: _role(f, "edit_self_score"),
        lambda: _in_states(
            f,
            [S.SELF_SCORING],
            _("Self scores can no longer change: the case is “%(state)s”.")
            % {"state": _state_label(f.state)},
        ),
        lambda: _self_deadline(f),
    )


def transition(name: str) -> Predicate:
    """A step of the state machine: its codename, no conflict of interest, a source state."""
    spec = TRANSITIONS[name]

    def check(f: Facts) -> list[Reason]:
        return _first(
            lambda: _role(f, spec.perm),
            lambda: _conflict(f, spec.perm),
            lambda: _in_states(f, SOURCES[name]),
        )

    check.__name__ = f"transition_{name}"
    return check


# During an explanation round the council keeps appraising the criteria without an open
# question (`appraise_criterion` refuses those); only the unit's answers wait.
APPRAISAL_STATES = (S.APPRAISING, S.EXPLANATION)


def appraise(f: Facts) -> list[Reason]:
    """Score criteria of the case (the areas are `appraise_criterion`'s part)."""
    return _first(
        lambda: _role(f, "appraise_case"),
        lambda: _conflict(f, "appraise_case"),
        lambda: _in_states(
            f,
            APPRAISAL_STATES,
            _("Appraisal is possible only while the case is being appraised; it is “%(state)s”.")
            % {"state": _state_label(f.state)},
        ),
    )


def appraise_criterion(
    f: Facts, *, code: str, area: str, survey: bool, open_question: bool
) -> list[Reason]:
    """One criterion: in an area of the user's, not the survey's, and not awaiting an answer."""
    reasons = _first(
        lambda: appraise(f),
        lambda: in_area(f, code=code, area=area),
        lambda: _by_survey(survey, _("Criterion %(code)s is scored by the survey import."), code),
    )
    if reasons:
        return reasons
    if open_question and f.state == S.EXPLANATION:
        return [
            Reason(
                Kind.STATE,
                _("Criterion %(code)s awaits the unit's explanation.") % {"code": code},
            )
        ]
    return []


def in_area(f: Facts, *, code: str, area: str) -> list[Reason]:
    """Appraisers score and question only the areas assigned to them; the secretariat any."""
    if f.areas is not None and area not in f.areas:
        return [
            Reason(
                Kind.ROLE,
                _("Criterion %(code)s is not in an area assigned to you.") % {"code": code},
            )
        ]
    return []


def ask(f: Facts) -> list[Reason]:
    """Questions gather while appraising; one request per round sends everyone's."""
    return _first(
        lambda: _role(f, "ask_clarification"),
        lambda: _conflict(f, "ask_clarification"),
        lambda: _in_states(
            f,
            [S.APPRAISING],
            _("Questions can be asked only while the case is being appraised; it is “%(state)s”.")
            % {"state": _state_label(f.state)},
        ),
    )


def ask_criterion(f: Facts, *, code: str, area: str, survey: bool) -> list[Reason]:
    """One criterion: in an area of the user's, and scored by the unit. A survey criterion's
    points come from the survey import, so there is nothing the unit could explain."""
    return _first(
        lambda: ask(f),
        lambda: in_area(f, code=code, area=area),
        lambda: _by_survey(
            survey,
            _(
                "Criterion %(code)s is scored by the survey import: "
                "there is nothing for the unit to explain."
            ),
            code,
        ),
    )


def answer(f: Facts) -> list[Reason]:
    """The unit writes its answers during the explanation round."""
    return _first(
        lambda: _role(f, "answer_clarification"),
        lambda: _in_states(
            f,
            [S.EXPLANATION],
            _(
                "Answers can be written only while an explanation is requested; the case is “%(state)s”."
            )
            % {"state": _state_label(f.state)},
        ),
    )


def decide_ranking(f: Facts) -> list[Reason]:
    """The leader excludes a unit from the ranking or reinstates it, before publication."""
    if "publish_case" not in f.perms:
        return [Reason(Kind.ROLE, _("Only the leader decides which units are ranked."))]
    conflict = _own_unit(f, _("You belong to %(unit)s: you may not decide its ranking."))
    if conflict:
        return conflict
    if f.cycle_status in (Cycle.Status.DRAFT, Cycle.Status.PUBLISHED):
        return [
            Reason(
                Kind.STATE,
                _("The ranking of this cycle cannot change: it is “%(status)s”.")
                % {"status": Cycle.Status(f.cycle_status).label},
            )
        ]
    return []


# Which deadline an extension moves, and the states in which it is still running.
EXTENDABLE_BY_KIND: dict[str, tuple[str, ...]] = {
    "self_assessment": (S.SELF_SCORING, S.SUBMITTED),
    "explanation": (S.EXPLANATION,),
}
EXTENDABLE = (S.SELF_SCORING, S.SUBMITTED, S.EXPLANATION)


def extend(f: Facts, kind: str | None = None) -> list[Reason]:
    """The secretariat grants a later deadline while one is running: the self-assessment
    while the unit scores or its submission waits for appraisal, the answer date during an
    explanation (`kind`; without it, either)."""
    message = None
    if kind == "self_assessment":
        message = _("The self-assessment of this case is over: the case is “%(state)s”.") % {
            "state": _state_label(f.state)
        }
    elif kind == "explanation":
        message = _("No explanation is requested from this unit now.")
    return _first(
        lambda: _role(f, "change_cycle"),
        lambda: _in_states(f, EXTENDABLE_BY_KIND.get(kind or "", EXTENDABLE), message),
    )


# --- evidence: what the unit's staff and head may do with the files of their case ---------

EVIDENCE_STATES = (S.SELF_SCORING, S.EXPLANATION)


def _evidence_role(f: Facts) -> list[Reason]:
    if not f.perms & {"edit_self_score", "answer_clarification"}:
        return [Reason(Kind.ROLE, _("Only the unit's staff can add or withdraw its evidence."))]
    return []


def add_evidence(f: Facts) -> list[Reason]:
    """Files are added while the unit scores (until its deadline) and, during an
    explanation, to answer the questions; the case's evidence is frozen otherwise."""
    reasons = _first(
        lambda: _evidence_role(f),
        lambda: _in_states(
            f,
            EVIDENCE_STATES,
            _("The evidence of this case is frozen: the case is “%(state)s”.")
            % {"state": _state_label(f.state)},
        ),
    )
    if reasons:
        return reasons
    if f.state == S.SELF_SCORING:
        return _first(lambda: _role(f, "edit_self_score"), lambda: _self_deadline(f))
    return _role(f, "answer_clarification")


def withdraw_evidence(f: Facts) -> list[Reason]:
    """A file is withdrawn only while the unit still scores, before its deadline."""
    return _first(
        lambda: _evidence_role(f),
        lambda: _in_states(
            f,
            [S.SELF_SCORING],
            _("Evidence can be withdrawn only during self-scoring; the case is “%(state)s”.")
            % {"state": _state_label(f.state)},
        ),
        lambda: add_evidence(f),
    )


# --- the head's signed report --------------------------------------------------------------


def attach_signed_report(f: Facts) -> list[Reason]:
    """The head attaches the scan of the signed report before sending: while the case is
    being self-scored, until its (extended) deadline, as the sending itself."""
    return _first(
        lambda: _role(f, "submit_case"),
        lambda: _in_states(
            f,
            [S.SELF_SCORING],
            _("The signed report is attached before the self-assessment is sent."),
        ),
        lambda: _self_deadline(f),
    )


# --- gathering the facts, enforcing the answer ------------------------------------------


def facts_for(
    user: User,
    case: Case,
    now: datetime | None = None,
    *,
    codes: Iterable[str] | None = None,
    self_due: date | None = None,
    with_deadline: bool = False,
) -> Facts:
    """The facts of one user and case. `codes` limits the permissions asked to those a
    service already checked (answered from `get_case_for_user`'s query, no new one);
    without it every codename is read (one query, cached on the case). The self-assessment
    date is read only when given or asked for (`with_deadline`): only self scoring needs it."""
    now = now or timezone.now()
    if codes is None:
        perms = frozenset(permissions.case_perms(user, case))
    else:
        perms = frozenset(c for c in codes if permissions.has_case_perm(user, c, case))
    if with_deadline and case.state == S.SELF_SCORING and self_due is None:
        self_due = policy.self_assessment_due(case)
    areas = None
    judging = perms & {"appraise_case", "ask_clarification"}
    if judging and "appraise_case" not in permissions.global_case_perms(user):
        areas = permissions.assigned_areas(user, case.cycle_id)
    return Facts(
        state=case.state,
        perms=perms,
        own_unit=permissions.is_member(user, case),
        represents=bool(perms & CONFLICTED) and permissions.represents(user, case),
        cycle_status=case.cycle.status,
        self_due=self_due,
        self_due_passed=self_due is not None and is_past(self_due, now),
        unit_name=case.unit.name,
        areas=areas,
    )


_ERRORS: dict[Kind, type[DomainError]] = {
    Kind.INPUT: InvalidInput,
    Kind.ROLE: NotAllowed,
    Kind.CONFLICT: NotAllowed,
    Kind.STATE: WrongState,
    Kind.DATE: GuardFailed,
}


def enforce(reasons: list[Reason]) -> None:
    """Raise the refusal of the first reason (its kind decides the status); else nothing."""
    if reasons:
        first = reasons[0]
        raise _ERRORS[first.kind](first.message, [r.message for r in reasons[1:]])


def allowed(predicate: Predicate, f: Facts) -> bool:
    return not predicate(f)


def transitions_allowed(f: Facts) -> list[str]:
    """Every transition the facts allow (the data guards aside), in the table's order."""
    return [name for name in TRANSITIONS if not transition(name)(f)]
