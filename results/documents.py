"""The documents Sở Nội vụ and the units sign and send, generated instead of retyped.

- `self_assessment_report(case)`: the unit's report of its self-assessment (every criterion
  with the self score, the note, the evidence relied on or the written explanation, totals
  per area), from the score table as it stands: once the case is submitted the unit can no
  longer change it, and the report names the submission and the SHA-256 of its snapshot.
- `appraisal_report(cycle)`: Sở Nội vụ's report to the chair of the appraisal council: per
  unit self-assessed against appraised per area, every adjustment with its reason, what the
  explanation rounds changed, units late or locked at the cutoff, units proposed for
  exclusion, the survey, and the proposed ranking with groups. Exists once a case is
  finalised.
- `results_annex_docx` / `results_annex_xlsx`: the annex of the publishing decision, one table
  per unit group; units not ranked listed apart with the reason and without an index.
- `rewards_xlsx` / `rewards_docx`: the emulation and reward proposal, the units meeting the
  cycle's rule (`Cycle.reward_rule`, see `reward_reasons`). Exists once a unit is ranked.

Each reads its data in a constant number of queries whatever the number of units; documents
are written by `results.paper` (Word) and `cases.sheets` (Excel print set-up).
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from cases import sheets
from cases.cells import keep_texts
from cases.errors import Conflict
from cases.models import (
    SELF_SCORED,
    Appraisal,
    Case,
    Criterion,
    Cycle,
    Method,
    Score,
    SurveyImport,
)
from cases.users import display_name
from deadlines import policy
from deadlines.calendar import local_date
from evidence.models import EvidenceLink
from results.exports import not_ranked_rows, sheet_title
from results.models import SubmittedReport
from results.paper import Bold, Column, Paper, Span, place_of, points
from results.ranking import CycleResults, GroupResults, UnitResult, compute_results
from workflow import audit
from workflow.models import AuditEntry, Clarification

REPORT_BODY = "Sở Nội vụ"


def _today() -> date:
    return timezone.localdate()


def group_label(row: UnitResult) -> str:
    """ "A (tốt)": the group with its name, short enough for the annex's narrow column."""
    if row.classification and row.classification_label:
        return f"{row.classification} ({row.classification_label})"
    return row.classification


def rank_change_text(row: UnitResult) -> str:
    change = row.rank_change
    if change is None:
        return ""
    if change > 0:
        return _("up %(n)s") % {"n": change}
    if change < 0:
        return _("down %(n)s") % {"n": -change}
    return _("unchanged")


# --- the unit's self-assessment report ---------------------------------------------------


LOCKED = audit.CASE_TRANSITION.format(name="lock_at_cutoff")
SUBMISSIONS = (audit.CASE_TRANSITION.format(name="submit"), LOCKED)


def last_submission(case: Case) -> AuditEntry | None:
    """The entry of the case's last sending (by the head, or locked at the cutoff)."""
    return (
        AuditEntry.objects.filter(case=case, action__in=SUBMISSIONS).order_by("-at", "-pk").first()
    )


def self_assessment_report(case: Case) -> bytes:
    """The unit's "Báo cáo tự đánh giá, chấm điểm" as an editable Word document."""
    cycle, unit = case.cycle, case.unit
    criteria = list(
        Criterion.objects.of_case(case)
        .order_by("position")
        .values_list("pk", "code", "title", "max_points", "depth", "is_leaf", "method", "area_id")
    )
    scores = {
        s.criterion_id: s
        for s in Score.objects.filter(case=case).only(
            "criterion_id",
            "self_score",
            "note",
            "evidence_explanation",
            "not_applicable",
            "not_applicable_reason",
        )
    }
    submitted = last_submission(case) if case.state != Case.State.SELF_SCORING else None
    links = EvidenceLink.objects.filter(case=case, withdrawn_at__isnull=True)
    if submitted is not None:
        # The evidence as it stood at the sending, whenever the report is written (files
        # added during an explanation round came later).
        links = EvidenceLink.objects.filter(case=case, created_at__lte=submitted.at).exclude(
            withdrawn_at__lte=submitted.at
        )
    evidence: dict[int, list[str]] = defaultdict(list)
    for criterion_id, filename, note in links.order_by(
        "criterion__position", "-version"
    ).values_list("criterion_id", "document__filename", "note"):
        evidence[criterion_id].append(f"{filename} ({note})" if note else filename)

    area_totals: dict[int, Decimal] = defaultdict(Decimal)
    for pk, _code, _title, _max, _depth, is_leaf, _method, area_id in criteria:
        score = scores.get(pk)
        if is_leaf and score and score.self_score is not None and not score.not_applicable:
            area_totals[area_id or pk] += score.self_score

    paper = Paper()
    paper.national_heading(
        authority=cycle.authority,
        body=unit.name,
        number=f"Số: ……/BC-{unit.code}",
        place=place_of(cycle.authority),
        day=(timezone.localtime(submitted.at).date() if submitted else None),
    )
    paper.title(
        _("REPORT"),
        _("Self-assessment and scoring of the PAR Index %(year)s") % {"year": cycle.year},
    )
    paper.para(
        _("To: %(body)s of %(authority)s") % {"body": REPORT_BODY, "authority": cycle.authority},
        align="center",
        indent=False,
    )
    paper.para(
        _(
            "%(unit)s reports the results of its self-assessment and scoring of the "
            "administrative reform index %(year)s (%(cycle)s), criterion by criterion, with "
            "the evidence it relies on:"
        )
        % {"unit": unit.name, "year": cycle.year, "cycle": cycle.title}
    )
    columns = [
        Column(_("Code"), 1.4, "center"),
        Column(_("Criterion"), 6.0),
        Column(_("Max points"), 1.6, "right"),
        Column(_("Self score"), 1.6, "right"),
        Column(_("Evidence (file, section/page) or explanation; note"), 5.9),
    ]
    self_total = Decimal(0)

    def lines() -> Iterator[list[Any] | Bold]:
        nonlocal self_total
        for pk, code, title, max_points, depth, is_leaf, method, _area in criteria:
            if depth == 0:
                total = area_totals.get(pk, Decimal(0))
                self_total += total
                yield Bold([code, title, max_points, total, ""])
                continue
            if not is_leaf:
                yield [code, title, max_points, None, ""]
                continue
            score = scores.get(pk)
            if score is None:
                continue
            if method == "survey":
                yield [code, title, max_points, None, _("Scored by the survey")]
                continue
            if score.not_applicable:
                why = _("Not applicable: %(reason)s") % {"reason": score.not_applicable_reason}
                yield [code, title, max_points, None, why]
                continue
            basis = "; ".join(evidence.get(pk, []))
            if not basis and score.evidence_explanation:
                basis = _("Explanation: %(text)s") % {"text": score.evidence_explanation}
            if score.note:
                basis = f"{basis}\n{score.note}" if basis else score.note
            yield [code, title, max_points, score.self_score, basis]
        yield Bold(["", _("Total self-assessed points"), None, self_total, ""])

    paper.table(columns, lines())
    if submitted and submitted.action == LOCKED:
        paper.para(
            _(
                "The unit did not send its self-assessment: the score table above is the one "
                "locked at the cutoff on %(when)s, which the council appraises; the checksum "
                "(SHA-256) of its record: %(sha)s."
            )
            % {
                "when": date_format(timezone.localtime(submitted.at), "d/m/Y H:i"),
                "sha": submitted.snapshot_sha256,
            },
            italic=True,
            size=11,
        )
    elif submitted:
        paper.para(
            _(
                "The score table above is the one sent on %(when)s by %(who)s; the checksum "
                "(SHA-256) of its record: %(sha)s."
            )
            % {
                "when": date_format(timezone.localtime(submitted.at), "d/m/Y H:i"),
                "who": display_name(submitted.actor) if submitted.actor else "",
                "sha": submitted.snapshot_sha256,
            },
            italic=True,
            size=11,
        )
    else:
        paper.para(
            _("Draft: the self-assessment has not been sent yet; scores may still change."),
            italic=True,
            size=11,
        )
    paper.signature(
        [REPORT_BODY, _("Filed: Office")],
        _("Head of the unit"),
        note=_("(Signature, full name and seal)"),
    )
    return paper.save()


# --- the appraisal report to the council chair -------------------------------------------


@dataclass
class _Adjustment:
    code: str
    title: str
    self_score: Decimal | None
    appraised: Decimal | None
    comment: str


def _adjustments(cycle: Cycle) -> dict[int, list[_Adjustment]]:
    found: dict[int, list[_Adjustment]] = defaultdict(list)
    rows = (
        Score.objects.filter(case__cycle=cycle, self_score__isnull=False)
        .exclude(appraised_score__isnull=True)
        .exclude(appraised_score=F("self_score"))
        .order_by("case_id", "criterion__position")
        .values_list(
            "case_id",
            "criterion__code",
            "criterion__title",
            "self_score",
            "appraised_score",
            "appraised_comment",
        )
    )
    for case_id, code, title, self_score, appraised, comment in rows.iterator(chunk_size=5000):
        found[case_id].append(_Adjustment(code, title, self_score, appraised, comment))
    return found


def _round_changes(cycle: Cycle) -> dict[int, list[str]]:
    """What each explanation round changed: "round 2, 2.1: 25,00 → 27,00 (answer: …)"."""
    before = Appraisal.objects.filter(score=OuterRef("score"), round=OuterRef("round") - 1)
    answers = {
        (case_id, criterion_id, rnd): answer
        for case_id, criterion_id, rnd, answer in Clarification.objects.filter(
            case__cycle=cycle
        ).values_list("case_id", "criterion_id", "round", "answer")
    }
    found: dict[int, list[str]] = defaultdict(list)
    rows = (
        Appraisal.objects.filter(score__case__cycle=cycle, round__gt=1)
        .annotate(previous=Subquery(before.values("appraised_score")[:1]))
        .order_by("score__case_id", "round", "score__criterion__position")
        .values_list(
            "score__case_id",
            "score__criterion_id",
            "score__criterion__code",
            "round",
            "previous",
            "appraised_score",
        )
    )
    for case_id, criterion_id, code, rnd, previous, now in rows.iterator(chunk_size=5000):
        if previous == now:
            continue
        text = _("round %(round)s, %(code)s: %(before)s → %(after)s") % {
            "round": rnd,
            "code": code,
            "before": points(previous),
            "after": points(now),
        }
        answer = answers.get((case_id, criterion_id, rnd - 1))
        if answer:
            text += " " + _("(explanation: %(answer)s)") % {"answer": answer}
        found[case_id].append(text)
    return found


def _area_parts(cycle: Cycle) -> dict[tuple[int, str], tuple[Decimal, Decimal, Decimal]]:
    """(case, area code) → (self score, appraised score, survey points) of the applicable
    criteria: the unit's self-assessed criteria compared with their appraisal, the survey
    (never self-scored) apart, so that like is compared with like."""
    survey = Q(criterion__method=Method.SURVEY)
    own = Q(criterion__method__in=SELF_SCORED)
    rows = (
        Score.objects.filter(case__cycle=cycle, not_applicable=False)
        .values("case_id", area_code=Coalesce("criterion__area__code", "criterion__code"))
        .annotate(
            own=Sum("self_score", filter=own),
            appraised=Sum("appraised_score", filter=own),
            survey=Sum("appraised_score", filter=survey),
        )
        .values_list("case_id", "area_code", "own", "appraised", "survey")
    )
    zero = Decimal(0)
    return {
        (case_id, code): (own or zero, appraised or zero, survey_points or zero)
        for case_id, code, own, appraised, survey_points in rows.iterator(chunk_size=5000)
    }


def _kept_reports(cycle: Cycle) -> dict[int, str]:
    """Per case, the self-assessment report the council reads: the one kept at the case's
    last receiving, sent by the head or locked at the cutoff (one query)."""
    found: dict[int, str] = {}
    for case_id, action, at, sha in (
        SubmittedReport.objects.filter(case__cycle=cycle)
        .order_by("case_id", "submission__at", "submission_id")
        .values_list("case_id", "submission__action", "submission__at", "document__sha256")
        .iterator(chunk_size=5000)
    ):
        when = date_format(timezone.localtime(at), "d/m/Y H:i")
        if action == LOCKED:
            text = _(
                "Self-assessment report: not sent, locked at the cutoff on %(when)s and kept "
                "as it stood (SHA-256 %(sha)s)."
            )
        else:
            text = _("Self-assessment report: sent on %(when)s, kept as sent (SHA-256 %(sha)s).")
        found[case_id] = text % {"when": when, "sha": sha}
    return found


def _late_units(cycle: Cycle) -> dict[int, str]:
    """The cases locked at the cutoff and those their head sent after the date they were held
    to (`deadlines.policy.held_to`: an extension granted once it had passed lets a unit send,
    late), with their units' names (two queries)."""
    held = policy.held_to_dates(cycle)
    return {
        pk: name
        for pk, name, is_late, submitted_at in Case.objects.filter(cycle=cycle).values_list(
            "pk", "unit__name", "is_late", "submitted_at"
        )
        if is_late
        or (
            submitted_at is not None
            and local_date(submitted_at) > held.get(pk, cycle.self_assessment_due)
        )
    }


FINALISED = (Case.State.FINALISED, Case.State.PUBLISHED)


def appraisal_report_ready(cycle: Cycle, counts: Mapping[str, int] | None = None) -> bool:
    """The appraisal report exists once a case of the cycle is finalised. `counts` (cases
    per state), when the caller has them, spare the query."""
    if counts is not None:
        return any(counts.get(state, 0) for state in FINALISED)
    return Case.objects.filter(cycle=cycle, state__in=FINALISED).exists()


def appraisal_report(cycle: Cycle, *, results: CycleResults | None = None) -> bytes:
    """Sở Nội vụ's report of the appraisal to the chair of the council.

    Refused (409) while no case of the cycle is finalised: there is nothing to report yet.
    """
    states = dict(Case.objects.filter(cycle=cycle).values_list("pk", "state"))
    finalised = set(FINALISED)
    if not any(state in finalised for state in states.values()):
        raise Conflict(
            _("No case of this cycle is finalised yet: the appraisal report cannot be written.")
        )
    results = results or compute_results(cycle)
    late = _late_units(cycle)
    adjustments = _adjustments(cycle)
    changes = _round_changes(cycle)
    received = _kept_reports(cycle)
    survey = SurveyImport.objects.filter(cycle=cycle).order_by("-imported_at", "-pk").first()

    paper = Paper()
    paper.national_heading(
        authority=cycle.authority,
        body=REPORT_BODY,
        number="Số: ……/BC-SNV",
        place=place_of(cycle.authority),
        day=_today(),
    )
    paper.title(
        _("REPORT"),
        _("Appraisal and scoring of the PAR Index %(year)s") % {"year": cycle.year},
    )
    paper.para(
        _("To: the Chair of the Appraisal Council of the PAR Index"), align="center", indent=False
    )
    all_rows = [row for _group, row in results.rows()]
    paper.heading(_("I. OVERVIEW"))
    paper.para(
        _(
            "Units assessed: %(units)s; finalised: %(finalised)s; late or locked at the "
            "cutoff: %(late)s; proposed not to be ranked: %(excluded)s."
        )
        % {
            "units": len(all_rows),
            "finalised": sum(1 for s in states.values() if s in finalised),
            "late": len(late),
            "excluded": sum(1 for r in all_rows if r.excluded),
        }
    )
    if late:
        paper.para(
            _("Late or locked at the cutoff: %(units)s.")
            % {"units": ", ".join(sorted(late.values()))}
        )

    paper.heading(_("II. APPRAISAL OF EACH UNIT"))
    area_columns = [
        Column(_("Area"), 5.6),
        Column(_("Max points"), 1.7, "right"),
        Column(_("Self score"), 1.9, "right"),
        Column(_("Appraised score"), 1.9, "right"),
        Column(_("Difference"), 1.9, "right"),
        Column(_("Survey"), 1.9, "right"),
    ]
    adjustment_columns = [
        Column(_("Code"), 1.4, "center"),
        Column(_("Criterion"), 5.2),
        Column(_("Self score"), 1.8, "right"),
        Column(_("Appraised score"), 1.8, "right"),
        Column(_("Reason for the adjustment"), 5.7),
    ]
    parts = _area_parts(cycle)
    zero = (Decimal(0), Decimal(0), Decimal(0))
    for number, row in enumerate(all_rows, start=1):
        paper.heading(f"{number}. {row.unit_name} ({row.unit_code})")
        lines: list[list[Any] | Bold] = []
        sums = [Decimal(0)] * 3
        for area in row.areas:
            own, appraised, by_survey = parts.get((row.case_id, area.code), zero)
            sums = [sums[0] + own, sums[1] + appraised, sums[2] + by_survey]
            lines.append(
                [
                    f"{area.code}. {area.title}",
                    area.applicable_max,
                    own,
                    appraised,
                    appraised - own,
                    by_survey or None,
                ]
            )
        lines.append(
            Bold([_("Total"), row.applicable_max, sums[0], sums[1], sums[1] - sums[0], sums[2]])
        )
        paper.table(area_columns, lines)
        if row.case_id in received:
            paper.para(received[row.case_id], italic=True, size=11)
        if adjustments.get(row.case_id):
            paper.para(_("Adjusted scores:"), italic=True, indent=False, after=2)
            paper.table(
                adjustment_columns,
                (
                    [a.code, a.title, a.self_score, a.appraised, a.comment]
                    for a in adjustments[row.case_id]
                ),
            )
        if changes.get(row.case_id):
            paper.para(
                _("After the explanation: %(changes)s.")
                % {"changes": "; ".join(changes[row.case_id])}
            )
        if row.case_id in late:
            paper.para(_("The unit did not send its self-assessment in time."), italic=True)

    paper.heading(_("III. UNITS PROPOSED NOT TO BE RANKED"))
    excluded = [r for r in all_rows if r.excluded]
    if excluded:
        for row in excluded:
            paper.para(f"- {row.unit_name}: {row.exclusion_reason}")
    else:
        paper.para(_("None."))

    paper.heading(_("IV. THE SURVEY"))
    if survey:
        paper.para(
            _("Survey scores imported from %(file)s on %(when)s (%(rows)s rows, SHA-256 %(sha)s).")
            % {
                "file": survey.filename,
                "when": date_format(timezone.localtime(survey.imported_at), "d/m/Y"),
                "rows": survey.row_count,
                "sha": survey.sha256,
            }
        )
    else:
        paper.para(_("No survey scores were imported."))
    for group in results.groups:
        ranked = group.ranked
        if ranked:
            average = sum((r.survey_points or Decimal(0) for r in ranked), Decimal(0)) / len(ranked)
            paper.para(
                _("%(group)s: average survey points %(avg)s.")
                % {"group": group.name, "avg": points(average)}
            )

    paper.heading(_("V. PROPOSED RANKING"))
    for group in results.groups:
        paper.para(group.name, bold=True, indent=False)
        paper.table(_ranking_columns(), (_ranking_line(r) for r in group.ranked))

    paper.para(
        _("Sở Nội vụ submits this report to the Chair of the Appraisal Council for decision.")
    )
    paper.signature(
        [_("Chair of the Appraisal Council"), _("Filed: Office")],
        _("Director"),
        note=_("(Signature, full name and seal)"),
    )
    return paper.save()


def _ranking_columns() -> list[Column]:
    return [
        Column(_("Rank"), 1.3, "center"),
        Column(_("Unit"), 6.2),
        Column(_("Total points"), 2.2, "right"),
        Column(_("Index (%)"), 2.2, "right"),
        Column(_("Group"), 2.3, "center"),
        Column(_("Change of rank"), 1.8, "center"),
    ]


def _ranking_line(row: UnitResult) -> list[Any]:
    return [
        row.rank,
        row.unit_name,
        row.points,
        row.index,
        group_label(row),
        rank_change_text(row),
    ]


# --- the results annex --------------------------------------------------------------------


def _decision_line(cycle: Cycle) -> str:
    if cycle.decision_number and cycle.decision_date:
        return _("(Attached to Decision No. %(number)s of %(date)s of %(authority)s)") % {
            "number": cycle.decision_number,
            "date": date_format(cycle.decision_date, "d/m/Y"),
            "authority": cycle.authority,
        }
    return _("(Draft: the results are not published yet)")


def _annex_headers(group: GroupResults) -> list[str]:
    return [
        _("Rank"),
        _("Unit"),
        *(f"{a.code}" for a in group.areas),
        _("Survey"),
        _("Total points"),
        _("Index (%)"),
        _("Group"),
        _("Change of rank"),
    ]


def _annex_line(group: GroupResults, row: UnitResult) -> list[Any]:
    by_code = {a.code: a for a in row.areas}
    return [
        row.rank,
        row.unit_name,
        *(
            by_code[a.code].points if a.code in by_code and by_code[a.code].applicable_max else None
            for a in group.areas
        ),
        row.survey_points,
        row.points,
        row.index,
        group_label(row),
        rank_change_text(row),
    ]


def _annex_rows(group: GroupResults) -> Iterator[list[Any] | Span]:
    """The ranked units, then those not ranked in the same table with the reason across
    the figure columns (they have none)."""
    for row in group.ranked:
        yield _annex_line(group, row)
    if group.excluded:
        yield Span([], _("Units not ranked"), bold=True)
        for row in group.excluded:
            yield Span(["", row.unit_name], row.exclusion_reason)


def results_annex_docx(results: CycleResults) -> bytes:
    cycle = results.cycle
    paper = Paper(landscape=True)
    paper.title(
        _("ANNEX"),
        _("RESULTS OF THE PAR INDEX %(year)s") % {"year": cycle.year},
        _decision_line(cycle),
    )
    for number, group in enumerate(results.groups, start=1):
        paper.heading(f"{number}. {group.name}")
        areas = len(group.areas)
        area_width = min(1.6, 11.0 / max(areas, 1))
        columns = [
            Column(_("Rank"), 1.2, "center"),
            Column(_("Unit"), 5.2),
            *(Column(a.code, area_width, "right") for a in group.areas),
            Column(_("Survey"), 1.7, "right"),
            Column(_("Total points"), 1.8, "right"),
            Column(_("Index (%)"), 1.8, "right"),
            Column(_("Group"), 2.0, "center"),
            Column(_("Change of rank"), 2.0, "center"),
        ]
        paper.table(columns, _annex_rows(group))
        if group.areas:
            paper.para(
                "; ".join(f"{a.code}: {a.title} ({points(a.max_points)})" for a in group.areas),
                italic=True,
                size=10,
                indent=False,
            )
    return paper.save()


def results_annex_xlsx(results: CycleResults) -> bytes:
    """The annex's tables as a workbook, one sheet per unit group, set up to print."""
    cycle = results.cycle
    workbook = Workbook()
    for empty in workbook.worksheets:  # a new workbook opens with one empty sheet
        workbook.remove(empty)
    used: set[str] = set()
    title = _("RESULTS OF THE PAR INDEX %(year)s") % {"year": cycle.year}
    for group in results.groups:
        sheet = workbook.create_sheet(sheet_title(group.name, used))
        sheets.title_row(sheet, _("ANNEX"))
        sheets.title_row(sheet, f"{title} — {group.name}")
        sheets.title_row(sheet, _decision_line(cycle), bold=False)
        sheet.append([])
        sheets.widths(sheet, [6, 30] + [9] * len(group.areas) + [9, 9, 9, 11, 11])
        header = sheets.header_row(sheet, _annex_headers(group))
        for row in group.ranked:
            sheet.append(_annex_line(group, row))
        parts = not_ranked_rows(sheet, group, [(r.unit_name,) for r in group.excluded])
        sheets.format_table(sheet, header + 1)
        for part in parts:
            sheets.bold_cell(sheet, part)
        sheet.append([])
        for area in group.areas:
            sheets.text_row(sheet, f"{area.code}: {area.title} ({points(area.max_points)})")
        sheets.print_setup(sheet, title=f"{title} — {group.name}", header_rows=(header, header))
    if not results.groups:
        workbook.create_sheet(_("Results"))
    keep_texts(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- the emulation and reward proposal ---------------------------------------------------


def reward_reasons(row: UnitResult, rule: dict[str, Any]) -> list[str]:
    """Why the unit is proposed for a reward under the cycle's rule; empty: it is not.

    The rule (`Cycle.reward_rule`): `groups`, the bands that qualify (e.g. ["A"]), and `top`,
    the number of first places of each unit group that qualify (e.g. 3). Units not ranked
    never qualify.
    """
    if row.excluded or row.rank is None:
        return []
    reasons = []
    if row.classification and row.classification in (rule.get("groups") or []):
        reasons.append(_("group %(group)s") % {"group": row.classification})
    top = int(rule.get("top") or 0)
    if top and row.rank <= top:
        reasons.append(_("rank %(rank)s of its unit group") % {"rank": row.rank})
    return reasons


def rewards_ready(results: CycleResults) -> bool:
    """The reward proposal exists once a unit is ranked."""
    return any(group.ranked for group in results.groups)


def _require_rewards(results: CycleResults) -> None:
    if not rewards_ready(results):
        raise Conflict(_("No unit is ranked yet: there is nobody to propose for a reward."))


def _proposed(results: CycleResults) -> Iterator[tuple[GroupResults, UnitResult, str]]:
    """(unit group, unit, why) of every unit the cycle's rule proposes, in ranking order."""
    rule = results.cycle.reward_rule or {}
    for group in results.groups:
        for row in group.ranked:
            reasons = reward_reasons(row, rule)
            if reasons:
                yield group, row, "; ".join(reasons)


def _rewards_title(cycle: Cycle) -> str:
    return _("PROPOSAL FOR EMULATION AND REWARDS: PAR INDEX %(year)s") % {"year": cycle.year}


def rewards_xlsx(results: CycleResults) -> bytes:
    _require_rewards(results)
    cycle = results.cycle
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)  # a new workbook opens on its one worksheet
    sheet.title = _("Reward proposal")[:31]
    title = _rewards_title(cycle)
    sheets.title_row(sheet, title)
    sheets.title_row(sheet, cycle.authority, bold=False)
    sheets.title_row(sheet, _rule_text(cycle.reward_rule or {}), bold=False)
    sheet.append([])
    header = sheets.header_row(
        sheet,
        [
            _("No."),
            _("Unit group"),
            _("Rank"),
            _("Unit"),
            _("Total points"),
            _("Index (%)"),
            _("Group"),
            _("Change of rank"),
            _("Proposed because"),
        ],
    )
    number = 0
    for number, (group, row, why) in enumerate(_proposed(results), start=1):
        sheet.append(
            [
                number,
                group.name,
                row.rank,
                row.unit_name,
                row.points,
                row.index,
                group_label(row),
                rank_change_text(row),
                why,
            ]
        )
    if number:
        sheets.format_table(sheet, header + 1)
    else:
        sheets.text_row(sheet, _("No unit meets the cycle's reward rule."))
    sheets.widths(sheet, [6, 20, 7, 34, 10, 10, 12, 12, 30])
    sheets.print_setup(sheet, title=title, header_rows=(header, header))
    keep_texts(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rewards_docx(results: CycleResults) -> bytes:
    """The same proposal as an editable Word document from Sở Nội vụ, one table per unit
    group, for the emulation council."""
    _require_rewards(results)
    cycle = results.cycle
    paper = Paper()
    paper.national_heading(
        authority=cycle.authority,
        body=REPORT_BODY,
        number="Số: ……/SNV-TĐKT",
        place=place_of(cycle.authority),
        day=_today(),
    )
    paper.title(_("LIST"), _rewards_title(cycle))
    paper.para(_rule_text(cycle.reward_rule or {}))
    columns = [
        Column(_("No."), 1.0, "center"),
        Column(_("Rank"), 1.3, "center"),
        Column(_("Unit"), 4.6),
        Column(_("Total points"), 1.9, "right"),
        Column(_("Index (%)"), 1.9, "right"),
        Column(_("Group"), 2.1, "center"),
        Column(_("Proposed because"), 3.7),
    ]
    by_group: dict[str, list[tuple[UnitResult, str]]] = defaultdict(list)
    names: dict[str, str] = {}
    for group, row, why in _proposed(results):
        by_group[group.code].append((row, why))
        names[group.code] = group.name
    if not by_group:
        paper.para(_("No unit meets the cycle's reward rule."))
    for number, (code, proposed) in enumerate(by_group.items(), start=1):
        paper.heading(f"{number}. {names[code]}")
        paper.table(
            columns,
            (
                [n, row.rank, row.unit_name, row.points, row.index, group_label(row), why]
                for n, (row, why) in enumerate(proposed, start=1)
            ),
        )
    paper.signature(
        [_("Emulation and Reward Council"), _("Filed: Office")],
        _("Director"),
        note=_("(Signature, full name and seal)"),
    )
    return paper.save()


def _rule_text(rule: dict[str, Any]) -> str:
    parts = []
    if rule.get("groups"):
        parts.append(_("units of group %(groups)s") % {"groups": ", ".join(rule["groups"])})
    if rule.get("top"):
        parts.append(_("the first %(top)s of each unit group") % {"top": rule["top"]})
    if not parts:
        return _("The cycle sets no reward rule.")
    return _("Rule: %(rule)s.") % {
        "rule": " ".join(parts)
        if len(parts) == 1
        else _("%(first)s or %(second)s") % {"first": parts[0], "second": parts[1]}
    }
