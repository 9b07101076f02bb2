"""The results as the API returns them and as files: an Excel workbook laid out like the
tables provinces publish (one sheet per unit group, areas as columns, units not ranked listed
below with the reason) and flat CSV/JSON open data.

The public shape never carries a case's state or the honesty signal; `private=True` (the
secretariat, leader and auditor) adds the state, `honesty=True` the over-claiming figures.
Open-data files always have the public shape, and numbers as numbers.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from openpyxl import Workbook

from cases import sheets
from cases.cells import csv_value, keep_texts
from results.ranking import CycleResults, GroupResults, UnitResult

INVALID_SHEET_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _n(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _row(row: UnitResult, *, private: bool, honesty: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rank": row.rank,
        "unit": {"code": row.unit_code, "name": row.unit_name},
        "score": _s(row.index),
        "index": _s(row.index),
        "total": _s(row.total),
        "parts": {
            "self_assessed": {"points": _s(row.self_points), "of": _s(row.self_max)},
            "appraised": {"points": _s(row.appraised_points), "of": _s(row.self_max)},
            "survey": {"points": _s(row.survey_points), "of": _s(row.survey_max)},
        },
        "group": row.classification or None,
        "group_label": row.classification_label or None,
        "group_name": row.group_name or None,
        "excluded": row.excluded,
        "withheld": row.withheld,
        "points": _s(row.points),
        "applicable_max": _s(row.applicable_max),
        "bonus": _s(row.bonus),
        "penalty": _s(row.penalty),
        "areas": [
            {
                "code": a.code,
                "points": _s(a.points),
                "max_points": _s(a.max_points),
                "applicable_max": _s(a.applicable_max),
                "index": _s(a.index),
            }
            for a in row.areas
        ],
        "previous_rank": row.previous_rank,
        "rank_change": row.rank_change,
        "previous_units": row.previous_units,
    }
    if row.excluded:
        out["exclusion_reason"] = row.exclusion_reason
    if private:
        out["state"] = row.state
        if row.excluded:
            out["follow_up"] = {
                "by": row.follow_up_by or None,
                "due": row.follow_up_due.isoformat() if row.follow_up_due else None,
            }
    if honesty:
        h = row.honesty
        out["honesty"] = {
            "compared_criteria": h.compared,
            "overclaimed_criteria": h.overclaimed,
            "overclaimed_points": _s(h.overclaimed_points),
            "overclaimed_share": _s(h.overclaimed_share),
            "self_index": _s(h.self_index),
            "index_gap": _s(h.index_gap),
        }
    return out


def _cycle(results: CycleResults) -> dict[str, Any]:
    cycle = results.cycle
    return {
        "id": cycle.pk,
        "year": cycle.year,
        "title": cycle.title,
        "authority": cycle.authority,
        "status": cycle.status,
    }


def _decision(results: CycleResults) -> dict[str, Any] | None:
    cycle = results.cycle
    if not cycle.decision_number:
        return None
    return {
        "number": cycle.decision_number,
        "date": cycle.decision_date.isoformat() if cycle.decision_date else None,
        "signer": cycle.decision_signer,
    }


def as_payload(results: CycleResults, *, private: bool, honesty: bool) -> dict[str, Any]:
    """The body of GET /api/v1/cycles/{id}/results/."""
    previous = results.previous_cycle
    return {
        "cycle": _cycle(results),
        "published": results.cycle.status == results.cycle.Status.PUBLISHED,
        "decision": _decision(results),
        "group_basis": results.cycle.group_basis,
        "group_basis_label": results.basis_label,
        "previous_cycle": {"id": previous.pk, "year": previous.year, "title": previous.title}
        if previous
        else None,
        "groups": [
            {
                "code": group.code,
                "name": group.name,
                "areas": [
                    {"code": a.code, "title": a.title, "max_points": _s(a.max_points)}
                    for a in group.areas
                ],
                "results": [_row(r, private=private, honesty=honesty) for r in group.ranked],
                "excluded": [_row(r, private=private, honesty=honesty) for r in group.excluded],
            }
            for group in results.groups
        ],
    }


# --- open data ---------------------------------------------------------------------------

BASE_FIELDS = [
    "year",
    "authority",
    "unit_group_code",
    "unit_group",
    "rank",
    "unit_code",
    "unit_name",
    "index",
    "total",
    "points",
    "applicable_max",
    "classification",
    "group_name",
    "previous_rank",
    "rank_change",
    "excluded",
    "exclusion_reason",
]


def _area_codes(results: CycleResults) -> list[str]:
    codes: list[str] = []
    for group in results.groups:
        codes += [a.code for a in group.areas if a.code not in codes]
    return codes


def open_records(results: CycleResults) -> list[dict[str, Any]]:
    """One flat record per unit, numbers as numbers: the open-data form."""
    cycle = results.cycle
    records = []
    for group, row in results.rows():
        record: dict[str, Any] = {
            "year": cycle.year,
            "authority": cycle.authority,
            "unit_group_code": group.code,
            "unit_group": group.name,
            "rank": row.rank,
            "unit_code": row.unit_code,
            "unit_name": row.unit_name,
            "index": _n(row.index),
            "total": _n(row.total),
            "points": _n(row.points),
            "applicable_max": _n(row.applicable_max),
            "classification": row.classification or None,
            "group_name": row.group_name or None,
            "previous_rank": row.previous_rank,
            "rank_change": row.rank_change,
            "excluded": row.excluded,
            "exclusion_reason": row.exclusion_reason or None,
        }
        for area in row.areas:
            record[f"area_{area.code}_points"] = _n(area.points)
            record[f"area_{area.code}_index"] = _n(area.index)
        records.append(record)
    return records


def to_csv(results: CycleResults) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel shows the Vietnamese names right."""
    fields = [
        *BASE_FIELDS,
        *(f"area_{code}_{part}" for code in _area_codes(results) for part in ("points", "index")),
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    for record in open_records(results):
        writer.writerow({k: "" if v is None else csv_value(v) for k, v in record.items()})
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_json(results: CycleResults) -> bytes:
    body = {
        "cycle": _cycle(results),
        "published": results.cycle.status == results.cycle.Status.PUBLISHED,
        "decision": _decision(results),
        "group_basis": results.cycle.group_basis,
        "fields": [*BASE_FIELDS, "area_<code>_points", "area_<code>_index"],
        "records": open_records(results),
    }
    return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")


# --- the published table -----------------------------------------------------------------


def sheet_title(name: str, used: set[str]) -> str:
    title = name.translate(INVALID_SHEET_CHARS).strip()[:31] or "Sheet"
    candidate, n = title, 2
    while candidate in used:
        suffix = f" ({n})"
        candidate, n = title[: 31 - len(suffix)] + suffix, n + 1
    used.add(candidate)
    return candidate


def to_xlsx(results: CycleResults, *, honesty: bool = False) -> bytes:
    """One sheet per unit group: rank, unit, points per area, total, index, class, change."""
    workbook = Workbook()
    for sheet in workbook.worksheets:  # a new workbook opens with one empty sheet
        workbook.remove(sheet)
    used: set[str] = set()
    for group in results.groups:
        _group_sheet(workbook.create_sheet(sheet_title(group.name, used)), results, group, honesty)
    if not results.groups:
        workbook.create_sheet(_("Results"))
    keep_texts(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _headers(group: GroupResults, honesty: bool) -> list[str]:
    headers = [_("Rank"), _("Unit code"), _("Unit")]
    headers += [f"{a.code}. {a.title} ({_plain(a.max_points)})" for a in group.areas]
    headers += [
        _("Bonus/penalty points"),
        _("Total (of 100)"),
        _("Index (%)"),
        _("Group"),
        _("Previous rank"),
        _("Change of rank"),
    ]
    if honesty:
        headers += [_("Self-score excess (points)"), _("Criteria self-scored higher (%)")]
    return headers


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _group_sheet(sheet: Any, results: CycleResults, group: GroupResults, honesty: bool) -> None:
    cycle = results.cycle
    title = _("PAR INDEX RESULTS %(year)s") % {"year": cycle.year}
    sheets.title_row(sheet, title)
    sheets.title_row(sheet, f"{cycle.authority} — {group.name}. {results.basis_label}", bold=False)
    if cycle.decision_number and cycle.decision_date:
        sheets.title_row(
            sheet,
            _("(Attached to Decision No. %(number)s of %(date)s)")
            % {
                "number": cycle.decision_number,
                "date": date_format(cycle.decision_date, "d/m/Y"),
            },
            bold=False,
        )
    else:
        sheets.title_row(sheet, _("Provisional results: not yet published"), bold=False)
    sheet.append([])
    headers = _headers(group, honesty)
    # Narrow number columns under wrapped headers: a whole row fits the width of A4 landscape;
    # the group's name ("Nhóm C (trung bình)") on one line.
    columns = [6.0, 10.0, 30.0] + [10.0] * (len(headers) - 3)
    columns[headers.index(_("Group"))] = 17.0
    sheets.widths(sheet, columns)
    header_row = sheets.header_row(sheet, headers)
    for row in group.ranked:
        sheet.append(_line(group, row, honesty))
    parts = not_ranked_rows(sheet, group, [(r.unit_code, r.unit_name) for r in group.excluded])
    sheets.format_table(sheet, header_row + 1)
    for part in parts:
        sheets.bold_cell(sheet, part)
    sheet.freeze_panes = f"D{header_row + 1}"  # a coordinate: the cell may be merged
    sheets.print_setup(sheet, title=f"{title} — {group.name}", header_rows=(header_row, header_row))


def not_ranked_rows(sheet: Any, group: GroupResults, units: list[tuple[str, ...]]) -> list[int]:
    """The units not ranked, under the ranked ones in the same table: a row naming the part,
    then each unit in the unit columns with its reason across the figure columns (it has no
    figures). Returns the rows to print in bold."""
    if not group.excluded:
        return []
    width = sheet.max_column
    part = sheets.spanning_row(sheet, [], _("Units not ranked"), width)
    for lead, row in zip(units, group.excluded, strict=True):
        sheets.spanning_row(sheet, [None, *lead], row.exclusion_reason, width)
    return [part]


def _line(group: GroupResults, row: UnitResult, honesty: bool) -> list[Any]:
    by_code = {a.code: a for a in row.areas}
    line: list[Any] = [row.rank, row.unit_code, row.unit_name]
    for column in group.areas:
        area = by_code.get(column.code)
        line.append(_n(area.points) if area and area.applicable_max else None)
    line += [
        _n((row.bonus or Decimal(0)) - (row.penalty or Decimal(0))),
        _n(row.total),
        _n(row.index),
        row.group_name,
        row.previous_rank,
        row.rank_change,
    ]
    if honesty:
        share = row.honesty.overclaimed_share
        line += [_n(row.honesty.overclaimed_points), _n(share * 100) if share is not None else None]
    return line
