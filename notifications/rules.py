"""Who hears what: the one table of notification kinds.

| kind                              | sent when                            | who hears                         | needs                 |
| --------------------------------- | ------------------------------------ | --------------------------------- | --------------------- |
| submitted                         | workflow.case.submit                 | the secretariat                   | start_appraisal       |
| appraisal_started                 | workflow.case.start_appraisal        | unit staff and head; appraisers (their areas) | view_case |
| explanation_requested             | workflow.case.request_explanation    | unit staff and head (answer date) | answer_clarification  |
| explanation_submitted             | workflow.case.submit_explanation     | the appraisers who asked          | appraise_case         |
| case_finalised                    | workflow.case.finalise               | unit staff and head               | view_case             |
| results_awaiting_approval         | cases.cycle.results_submitted        | the leaders                       | publish_case (global) |
| results_published                 | cases.cycle.published                | staff and head of every unit      | view_case             |
| ranking_excluded                  | cases.ranking.excluded               | unit staff and head               | view_case             |
| deadlines.extension_granted       | deadlines.extension.granted          | unit staff and head               | view_case             |
| deadlines.reminder.self_assessment| the sweep, before the unit's deadline| unit staff and head               | view_case             |
| deadlines.reminder.overdue        | the sweep, once the deadline passed  | unit staff and head               | view_case             |
| deadlines.reminder.explanation    | the sweep, before the answer date    | unit staff and head               | view_case             |
| deadlines.reminder.appraisal      | the sweep, before the appraisal date | each appraiser with work left     | (named: no case data) |
| deadlines.summary.late            | the sweep, once a deadline passed    | the secretariat                   | view_case (global)    |
| deadlines.reminder.survey         | the sweep, before the survey date, scores missing | the secretariat      | view_case (global)    |
| deadlines.overdue.survey          | the sweep, once it passed, scores missing | the secretariat              | view_case (global)    |
| deadlines.reminder.report         | the sweep, before the appraisal report date | the secretariat            | view_case (global)    |
| deadlines.overdue.report          | the sweep, once it passed unsent     | the secretariat and the leaders   | view_case (global)    |
| deadlines.reminder.publication    | the sweep, before the publication target | the secretariat and the leaders | view_case (global) |
| deadlines.overdue.publication     | the sweep, once it passed unpublished | the secretariat and the leaders  | view_case (global)    |
| auth.signin_spraying              | auth.signin.spraying (a new wave)    | the secretariat                   | change_cycle (global) |

"needs" is the case permission (`cases.permissions`) every recipient must hold on the
notification's case — or globally when the notification has no case. `notify` drops
anyone who does not, so no case data reaches someone who may not see the case. A "named"
kind without a case carries only counts, and reaches whom the sender names.

The texts are stored in both languages when the event happens (the inbox must show what was
said then). Every text and label is a msgid of the translation catalogue, rendered once in
Vietnamese and once in English; `%(unit)s`, `%(year)s`, `%(due)s` … come from the audit
entry. The sweep's kinds are written by the sweep (`deadlines.texts`, also through gettext).
`notify` refuses a kind that is not in this table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cases import permissions
from cases.compiled import Compiled
from cases.models import AppraiserAssignment, Case, Membership
from deadlines import texts
from workflow import audit
from workflow.models import AuditEntry, Clarification


@dataclass(frozen=True)
class Users:
    """The ids a compiled read of users finds (`cases.compiled`), with its arguments: what
    notify() puts inside its own statement, its SQL written once per process, not built and
    compiled by the ORM at each event."""

    read: Compiled[Any]
    arguments: tuple[int | str, ...]

    def sql(self) -> tuple[str, tuple[Any, ...]]:
        return self.read.sql((), *self.arguments)

    def __iter__(self) -> Iterator[int]:
        return (int(row[0]) for row in self.read.rows((), *self.arguments))


# The active holders of a global role; the staff and head of a unit (compiled once; rows
# of one column).
_ROLE_MEMBERS: Compiled[Any] = Compiled(
    lambda _key, role: permissions.role_members(role).values_list("pk")
)
_UNIT_MEMBERS: Compiled[Any] = Compiled(
    lambda _key, unit: permissions.unit_members(Case(unit_id=unit)).values_list("user_id")
)
# The appraisers of a cycle with their areas, but the members of a unit, who do not appraise
# its case.
_APPRAISERS_OUTSIDE: Compiled[Any] = Compiled(
    lambda _key, cycle, unit: (
        AppraiserAssignment.objects.filter(cycle_id=cycle)
        .exclude(Exists(Membership.objects.filter(user_id=OuterRef("user_id"), unit_id=unit)))
        .order_by("area_code", "pk")
        .values_list("user_id", "area_code")
    )
)


@dataclass(frozen=True)
class Audience:
    """Recipients of one notification text, about one case (or none): user ids, or a query
    of them that notify() runs inside its own statement (`Users`, or a queryset)."""

    user_ids: list[int] | Users | QuerySet[Any]
    case: Case | None = None
    context: dict[str, Any] = field(default_factory=dict)


Audiences = Callable[[AuditEntry], Iterable[Audience]]
# The audiences of many entries of one kind (a batch of the sweep), read in a few queries.
BatchAudiences = Callable[[Sequence[AuditEntry]], Iterable[tuple[AuditEntry, Audience]]]


@dataclass(frozen=True)
class Kind:
    code: str
    label: str | Promise  # a lazy msgid: the e-mail subject and the settings' line
    perm: str = "view_case"
    action: str = ""  # the audit action that triggers it; "" when the sweep sends it
    audiences: Audiences | None = None
    text: str | Promise = ""  # a lazy msgid formatted with the audience's context
    # The text from the audience's context, when one pattern cannot say it.
    render: Callable[[dict[str, Any]], str] | None = None
    named: bool = False  # without a case: reaches whom the sender names (no case data)
    batch_audiences: BatchAudiences | None = None

    def label_in(self, language: str) -> str:
        with translation.override("en" if language.startswith("en") else "vi"):
            return str(self.label)

    def texts(self, context: dict[str, Any]) -> tuple[str, str]:
        """The notification's text in Vietnamese and in English."""
        render = self.render or (lambda ctx: str(self.text) % ctx)
        return texts.bilingual(lambda: render(context))


# --- who: one small function per audience --------------------------------------------------


def _case_context(case: Case) -> dict[str, Any]:
    return {"unit": case.unit.name, "unit_code": case.unit.code, "year": case.cycle.year}


def _dmy(iso: str) -> str:
    return date_format(date.fromisoformat(iso), "d/m/Y") if iso else ""


def unit_of_case(entry: AuditEntry) -> Iterable[Audience]:
    case = entry.case
    assert case is not None
    ctx = _case_context(case)
    ctx.update(
        due=_dmy(entry.data.get("due_date", "")),
        questions=entry.data.get("questions", ""),
        reason=entry.comment,
    )
    yield Audience(Users(_UNIT_MEMBERS, (case.unit_id,)), case, ctx)


def unit_of_extension(entry: AuditEntry) -> Iterable[Audience]:
    case = entry.case
    assert case is not None
    ctx = _case_context(case)
    ctx.update(
        explanation=entry.data.get("kind") == "explanation",
        due_date=date.fromisoformat((entry.after or {})["due_date"]),
        reason=entry.comment,
    )
    yield Audience(Users(_UNIT_MEMBERS, (case.unit_id,)), case, ctx)


def _extension_text(ctx: dict[str, Any]) -> str:
    if ctx["explanation"]:
        message = _(
            "%(unit)s: the deadline for answering the clarification questions is extended to %(date)s. Reason: %(reason)s"
        )
    else:
        message = _(
            "%(unit)s: the self-assessment deadline is extended to %(date)s. Reason: %(reason)s"
        )
    return str(message) % {
        "unit": ctx["unit"],
        "date": texts.day(ctx["due_date"]),
        "reason": ctx["reason"],
    }


def secretariat_on_case(entry: AuditEntry) -> Iterable[Audience]:
    case = entry.case
    assert case is not None
    yield Audience(Users(_ROLE_MEMBERS, (permissions.SECRETARIAT,)), case, _case_context(case))


def unit_and_appraisers(entry: AuditEntry) -> Iterable[Audience]:
    """The unit, and every appraiser of the cycle with the areas of the case they appraise
    (one audience per set of areas; never a member of the unit, who does not appraise it).

    One case: the unit's members are read inside notify()'s statement, the appraisers by
    one compiled read (`units_and_appraisers` reads those of many cases at once)."""
    case = entry.case
    assert case is not None
    yield from unit_of_case(entry)
    yield from _appraisers_by_areas(case, _APPRAISERS_OUTSIDE.rows((), case.cycle_id, case.unit_id))


def _appraisers_by_areas(case: Case, assigned: Iterable[tuple[int, str]]) -> Iterator[Audience]:
    """One audience per set of areas, from (appraiser, area) in the order of the areas."""
    areas: dict[int, list[str]] = {}
    for user_id, area in assigned:
        areas.setdefault(user_id, []).append(area)
    together: dict[tuple[str, ...], list[int]] = {}
    for user_id, codes in areas.items():
        together.setdefault(tuple(codes), []).append(user_id)
    for area_codes, user_ids in together.items():
        yield Audience(user_ids, case, {**_case_context(case), "areas": ", ".join(area_codes)})


def units_and_appraisers(entries: Sequence[AuditEntry]) -> Iterable[tuple[AuditEntry, Audience]]:
    """`unit_and_appraisers` of many cases: two queries (the units' members, the cycles'
    appraisers) whatever their number."""
    cases = [entry.case for entry in entries if entry.case is not None]
    members: dict[int, list[int]] = {}
    for unit_id, user_id in (
        Membership.objects.filter(unit_id__in={case.unit_id for case in cases})
        .order_by("unit_id", "user_id")
        .values_list("unit_id", "user_id")
        .distinct()
    ):
        members.setdefault(unit_id, []).append(user_id)
    appraisers: dict[int, list[tuple[int, str]]] = {}
    for cycle_id, user_id, area in (
        AppraiserAssignment.objects.filter(cycle_id__in={case.cycle_id for case in cases})
        .order_by("area_code", "pk")
        .values_list("cycle_id", "user_id", "area_code")
    ):
        appraisers.setdefault(cycle_id, []).append((user_id, area))
    for entry in entries:
        case = entry.case
        assert case is not None
        unit = members.get(case.unit_id, [])
        for audience in unit_of_case(entry):
            yield entry, Audience(unit, case, audience.context)
        assigned = [(u, area) for u, area in appraisers.get(case.cycle_id, []) if u not in unit]
        for audience in _appraisers_by_areas(case, assigned):
            yield entry, audience


def audiences_of(
    kind: Kind, entries: Sequence[AuditEntry]
) -> Iterable[tuple[AuditEntry, Audience]]:
    """The audiences of many entries of a kind: its batch form when it has one."""
    if kind.batch_audiences is not None:
        yield from kind.batch_audiences(entries)
    elif kind.audiences is not None:
        for entry in entries:
            for audience in kind.audiences(entry):
                yield entry, audience


def _appraisal_started_text(ctx: dict[str, Any]) -> str:
    if ctx.get("areas"):
        message = _(
            "%(unit)s's %(year)s PAR Index case is ready for appraisal: please appraise area(s) %(areas)s."
        )
    else:
        message = _("Appraisal of %(unit)s's %(year)s PAR Index self-assessment has started.")
    return str(message) % ctx


def appraisers_who_asked(entry: AuditEntry) -> Iterable[Audience]:
    """Those who asked the questions of the round the explanation answers (it just ended)."""
    case = entry.case
    assert case is not None
    askers = (
        Clarification.objects.filter(case=case, round=case.appraisal_round - 1)
        .values_list("asked_by_id", flat=True)
        .distinct()
    )
    yield Audience(askers, case, _case_context(case))


def leaders_of_cycle(entry: AuditEntry) -> Iterable[Audience]:
    cycle = entry.cycle
    assert cycle is not None
    yield Audience(
        permissions.role_member_ids(permissions.LEADER),
        None,
        {"cycle": cycle.title, "year": cycle.year, "cycle_id": cycle.pk},
    )


def secretariat_on_new_spraying_wave(entry: AuditEntry) -> Iterable[Audience]:
    """The secretariat, once per wave of spraying: spraying that goes on is audited again
    every window (and for every source), but only the entry that starts a wave is told."""
    if not entry.data.get("new_wave"):
        return
    yield Audience(
        permissions.role_members(permissions.SECRETARIAT),
        None,
        {
            "address": entry.data.get("address") or "",
            "accounts": entry.data.get("accounts", 0),
            "minutes": entry.data.get("window_minutes", 0),
            "link": reverse("sign-in-watch"),
        },
    )


def _spraying_text(ctx: dict[str, Any]) -> str:
    if ctx["address"]:
        message = _(
            "Password spraying: one password was tried on %(accounts)s accounts from the address "
            "%(address)s within %(minutes)s minutes. See the failed sign-ins page."
        )
    else:
        message = _(
            "Password spraying: one password was tried on %(accounts)s accounts from many "
            "addresses within %(minutes)s minutes. See the failed sign-ins page."
        )
    return str(message) % ctx


def every_unit_of_cycle(entry: AuditEntry) -> Iterable[Audience]:
    cycle = entry.cycle
    assert cycle is not None
    decision = (entry.data.get("decision") or {}).get("number", "")
    cases = list(Case.objects.filter(cycle=cycle).select_related("unit", "cycle"))
    members: dict[int, list[int]] = {}
    for unit_id, user_id in (
        Membership.objects.filter(unit_id__in=[c.unit_id for c in cases])
        .values_list("unit_id", "user_id")
        .distinct()
    ):
        members.setdefault(unit_id, []).append(user_id)
    for case in cases:
        if members.get(case.unit_id):
            yield Audience(
                members[case.unit_id], case, {**_case_context(case), "decision": decision}
            )


# --- what: the table ----------------------------------------------------------------------

# The sweep's kinds (deadlines.sweep sends them with its own texts).
SELF_ASSESSMENT_REMINDER = "deadlines.reminder.self_assessment"
OVERDUE_REMINDER = "deadlines.reminder.overdue"
EXPLANATION_REMINDER = "deadlines.reminder.explanation"
APPRAISAL_REMINDER = "deadlines.reminder.appraisal"
LATE_SUMMARY = "deadlines.summary.late"
SURVEY_REMINDER = "deadlines.reminder.survey"
SURVEY_OVERDUE = "deadlines.overdue.survey"
REPORT_REMINDER = "deadlines.reminder.report"
REPORT_OVERDUE = "deadlines.overdue.report"
PUBLICATION_REMINDER = "deadlines.reminder.publication"
PUBLICATION_OVERDUE = "deadlines.overdue.publication"
SIGNIN_SPRAYING = "auth.signin_spraying"

KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind(
            "submitted",
            _("A unit submitted its self-assessment"),
            perm="start_appraisal",
            action=audit.CASE_TRANSITION.format(name="submit"),
            audiences=secretariat_on_case,
            text=_("%(unit)s submitted its %(year)s PAR Index self-assessment."),
        ),
        Kind(
            "appraisal_started",
            _("Appraisal started"),
            action=audit.CASE_TRANSITION.format(name="start_appraisal"),
            audiences=unit_and_appraisers,
            batch_audiences=units_and_appraisers,
            render=_appraisal_started_text,
        ),
        Kind(
            "explanation_requested",
            pgettext_lazy("notification", "Explanation requested"),
            perm="answer_clarification",
            action=audit.CASE_TRANSITION.format(name="request_explanation"),
            audiences=unit_of_case,
            text=_(
                "The appraisal council asks %(unit)s to explain %(questions)s point(s). "
                "Answers are due by the end of %(due)s."
            ),
        ),
        Kind(
            "explanation_submitted",
            _("Explanation sent"),
            perm="appraise_case",
            action=audit.CASE_TRANSITION.format(name="submit_explanation"),
            audiences=appraisers_who_asked,
            text=_("%(unit)s sent its explanation for your questions (%(year)s PAR Index)."),
        ),
        Kind(
            "case_finalised",
            _("Appraisal finalised"),
            action=audit.CASE_TRANSITION.format(name="finalise"),
            audiences=unit_of_case,
            text=_("The appraisal of %(unit)s's %(year)s PAR Index has been finalised."),
        ),
        Kind(
            "results_awaiting_approval",
            _("Results awaiting approval"),
            perm="publish_case",
            action=audit.CYCLE_RESULTS_SUBMITTED,
            audiences=leaders_of_cycle,
            text=_("The results of %(cycle)s were sent by the secretariat and await approval."),
        ),
        Kind(
            "results_published",
            _("Results published"),
            action=audit.CYCLE_PUBLISHED,
            audiences=every_unit_of_cycle,
            text=_("The %(year)s PAR Index results were published (decision %(decision)s)."),
        ),
        Kind(
            "ranking_excluded",
            _("Not ranked"),
            action=audit.RANKING_EXCLUDED,
            audiences=unit_of_case,
            text=_(
                "%(unit)s is neither assessed nor ranked in the %(year)s PAR Index by the "
                "leadership's decision. Reason: %(reason)s"
            ),
        ),
        Kind(
            "deadlines.extension_granted",
            _("Extension granted"),
            action=audit.EXTENSION_GRANTED,
            audiences=unit_of_extension,
            render=_extension_text,
        ),
        Kind(
            SIGNIN_SPRAYING,
            _("Password spraying"),
            perm="change_cycle",
            action=audit.SIGNIN_SPRAYING,
            audiences=secretariat_on_new_spraying_wave,
            render=_spraying_text,
        ),
        Kind(SELF_ASSESSMENT_REMINDER, _("Self-assessment deadline reminder")),
        Kind(OVERDUE_REMINDER, _("Self-assessment overdue")),
        Kind(EXPLANATION_REMINDER, _("Answer deadline reminder")),
        Kind(APPRAISAL_REMINDER, _("Appraisal deadline reminder"), named=True),
        Kind(LATE_SUMMARY, _("Units late with their self-assessment")),
        Kind(SURVEY_REMINDER, _("Survey scores deadline reminder")),
        Kind(SURVEY_OVERDUE, _("Survey scores overdue")),
        Kind(REPORT_REMINDER, _("Appraisal report deadline reminder")),
        Kind(REPORT_OVERDUE, _("Appraisal report overdue")),
        Kind(PUBLICATION_REMINDER, _("Publication target reminder")),
        Kind(PUBLICATION_OVERDUE, _("Publication overdue")),
    )
}
BY_ACTION: dict[str, Kind] = {k.action: k for k in KINDS.values() if k.action}


def kind_for(code: str) -> Kind:
    """The kind's entry; a code no longer in the table (older inbox rows) is its own label."""
    return KINDS.get(code) or Kind(code, code)


def link_for(case: Case | None, context: dict[str, Any]) -> str:
    """Where a notification points (the case page, or the cycle's results)."""
    if case is not None:
        return f"/cases/{case.pk}/"
    if "link" in context:
        return str(context["link"])
    if "cycle_id" in context:
        return f"/cycles/{context['cycle_id']}/results/"
    return "/"
