"""Who hears what: the one table of notification kinds.

| kind                       | when (audit action)                  | who hears                       | needs          |
| -------------------------- | ------------------------------------ | ------------------------------- | -------------- |
| submitted                  | workflow.case.submit                 | the secretariat                 | start_appraisal|
| appraisal_started          | workflow.case.start_appraisal        | unit staff and head             | view_case      |
| explanation_requested      | workflow.case.request_explanation    | unit staff and head (answer date)| answer_clarification |
| explanation_submitted      | workflow.case.submit_explanation     | the appraisers who asked        | appraise_case  |
| case_finalised             | workflow.case.finalise               | unit staff and head             | view_case      |
| results_awaiting_approval  | cases.cycle.results_submitted        | the leaders                     | publish_case (global) |
| results_published          | cases.cycle.published                | staff and head of every unit    | view_case      |
| deadlines.extension_granted| deadlines.extension.granted          | unit staff and head             | view_case      |
| any other kind (reminders) | (deadlines calls notify directly)    | as the caller says              | view_case (none without a case) |

"needs" is the case permission (`cases.permissions`) every recipient must hold on the
notification's case — or globally when the notification has no case. `notify` drops
anyone who does not, so no case data reaches someone who may not see the case.

The texts are stored in both languages when the event happens (the inbox must show what was
said then); `{unit}`, `{year}`, `{due}` … come from the audit entry. Another app adds its own
kinds with `register_kind` from its AppConfig.ready().
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.utils.formats import date_format

from cases import permissions
from cases.models import Case, Membership
from deadlines import texts
from workflow import audit
from workflow.models import AuditEntry, Clarification


@dataclass(frozen=True)
class Audience:
    """Recipients of one notification text, about one case (or none): user ids, or a query
    of them that notify() runs inside its own statement."""

    user_ids: list[int] | QuerySet[Any]
    case: Case | None = None
    context: dict[str, Any] = field(default_factory=dict)


Audiences = Callable[[AuditEntry], Iterable[Audience]]


@dataclass(frozen=True)
class Kind:
    code: str
    label_vi: str
    label_en: str
    perm: str = "view_case"
    action: str = ""  # the audit action that triggers it; "" when another app calls notify()
    audiences: Audiences | None = None
    text_vi: str = ""
    text_en: str = ""
    # Both texts from the audience's context, when a fixed pattern cannot say it.
    texts: Callable[[dict[str, Any]], tuple[str, str]] | None = None

    def label(self, language: str) -> str:
        return self.label_en if language.startswith("en") else self.label_vi


# --- who: one small function per audience --------------------------------------------------


def _case_context(case: Case) -> dict[str, Any]:
    return {"unit": case.unit.name, "unit_code": case.unit.code, "year": case.cycle.year}


def _dmy(iso: str) -> str:
    return date_format(date.fromisoformat(iso), "d/m/Y") if iso else ""


def unit_of_case(entry: AuditEntry) -> Iterable[Audience]:
    case = entry.case
    assert case is not None
    ctx = _case_context(case)
    ctx.update(due=_dmy(entry.data.get("due_date", "")), questions=entry.data.get("questions", ""))
    yield Audience(permissions.unit_members(case), case, ctx)


def unit_of_extension(entry: AuditEntry) -> Iterable[Audience]:
    case = entry.case
    assert case is not None
    ctx = _case_context(case)
    ctx.update(
        explanation=entry.data.get("kind") == "explanation",
        due_date=date.fromisoformat((entry.after or {})["due_date"]),
        reason=entry.comment,
    )
    yield Audience(permissions.unit_members(case), case, ctx)


def _extension_texts(ctx: dict[str, Any]) -> tuple[str, str]:
    return texts.extension_granted(ctx["unit"], ctx["explanation"], ctx["due_date"], ctx["reason"])


def secretariat_on_case(entry: AuditEntry) -> Iterable[Audience]:
    case = entry.case
    assert case is not None
    yield Audience(permissions.role_members(permissions.SECRETARIAT), case, _case_context(case))


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

KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind(
            "submitted",
            "Đơn vị gửi hồ sơ tự đánh giá",
            "A unit submitted its self-assessment",
            perm="start_appraisal",
            action=audit.CASE_TRANSITION.format(name="submit"),
            audiences=secretariat_on_case,
            text_vi="{unit} đã gửi hồ sơ tự đánh giá Chỉ số CCHC năm {year}.",
            text_en="{unit} submitted its {year} PAR Index self-assessment.",
        ),
        Kind(
            "appraisal_started",
            "Bắt đầu thẩm định",
            "Appraisal started",
            action=audit.CASE_TRANSITION.format(name="start_appraisal"),
            audiences=unit_of_case,
            text_vi="Hồ sơ tự đánh giá Chỉ số CCHC năm {year} của {unit} đã được đưa vào thẩm định.",
            text_en="Appraisal of {unit}'s {year} PAR Index self-assessment has started.",
        ),
        Kind(
            "explanation_requested",
            "Yêu cầu giải trình",
            "Explanation requested",
            perm="answer_clarification",
            action=audit.CASE_TRANSITION.format(name="request_explanation"),
            audiences=unit_of_case,
            text_vi=(
                "Hội đồng thẩm định yêu cầu {unit} giải trình {questions} nội dung. "
                "Hạn trả lời: hết ngày {due}."
            ),
            text_en=(
                "The appraisal council asks {unit} to explain {questions} point(s). "
                "Answers are due by the end of {due}."
            ),
        ),
        Kind(
            "explanation_submitted",
            "Đơn vị gửi giải trình",
            "Explanation sent",
            perm="appraise_case",
            action=audit.CASE_TRANSITION.format(name="submit_explanation"),
            audiences=appraisers_who_asked,
            text_vi="{unit} đã gửi giải trình cho các câu hỏi của bạn (Chỉ số CCHC năm {year}).",
            text_en="{unit} sent its explanation for your questions ({year} PAR Index).",
        ),
        Kind(
            "case_finalised",
            "Chốt điểm thẩm định",
            "Appraisal finalised",
            action=audit.CASE_TRANSITION.format(name="finalise"),
            audiences=unit_of_case,
            text_vi="Kết quả thẩm định Chỉ số CCHC năm {year} của {unit} đã được chốt.",
            text_en="The appraisal of {unit}'s {year} PAR Index has been finalised.",
        ),
        Kind(
            "results_awaiting_approval",
            "Kết quả chờ phê duyệt",
            "Results awaiting approval",
            perm="publish_case",
            action=audit.CYCLE_RESULTS_SUBMITTED,
            audiences=leaders_of_cycle,
            text_vi="Kết quả {cycle} đã được Sở Nội vụ trình, đang chờ phê duyệt và công bố.",
            text_en="The results of {cycle} were sent by the secretariat and await approval.",
        ),
        Kind(
            "results_published",
            "Công bố kết quả",
            "Results published",
            action=audit.CYCLE_PUBLISHED,
            audiences=every_unit_of_cycle,
            text_vi="Kết quả Chỉ số CCHC năm {year} đã được công bố (Quyết định số {decision}).",
            text_en="The {year} PAR Index results were published (decision {decision}).",
        ),
        Kind(
            "deadlines.extension_granted",
            "Gia hạn",
            "Extension granted",
            action=audit.EXTENSION_GRANTED,
            audiences=unit_of_extension,
            texts=_extension_texts,
        ),
    )
}
BY_ACTION: dict[str, Kind] = {k.action: k for k in KINDS.values() if k.action}


def register_kind(kind: Kind) -> None:
    """Add a kind owned by another app (its label, the permission its recipients need)."""
    KINDS[kind.code] = kind
    if kind.action:
        BY_ACTION[kind.action] = kind


def kind_for(code: str) -> Kind:
    """The kind's entry; unknown kinds (another app's reminders) need `view_case`."""
    return KINDS.get(code) or Kind(code, code, code)


def link_for(case: Case | None, context: dict[str, Any]) -> str:
    """Where a notification points (the case page, or the cycle's results)."""
    if case is not None:
        return f"/cases/{case.pk}/"
    if "cycle_id" in context:
        return f"/cycles/{context['cycle_id']}/results/"
    return "/"
