"""Survey scores (điều tra xã hội học) read from a spreadsheet: parsing and row validation.

The survey is run by separate software; the secretariat receives one score per unit and per
survey criterion and imports them as a table with the columns of the template
(`template_rows`): unit code, criterion code, score (unit name, criterion title and maximum
may stay in the file: they are for the reader and are not checked).

Accepted: an Excel workbook (.xlsx, the first sheet) or a CSV text in UTF-8 (comma,
semicolon or tab separated). The file type is read from the bytes, not the name. The first
row holds the column names (Vietnamese or English, accents and case ignored).

Every problem is collected with its row and column (as a spreadsheet shows them: row 1 is
the header, columns A, B, C …), and `parse` refuses the whole file when there is any: an
import is all rows or none. Writing the scores, the audit and the state checks are the
workflow's job (`workflow.survey`).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from cases import sheets
from cases.cells import csv_value, keep_texts
from cases.models import Case, Criterion, Cycle, Method, Score
from cases.problems import Problems
from cases.scoring import fmt

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
CENT = Decimal("0.01")

# key: (label, required). Labels are the template's headers in the user's language.
COLUMNS: dict[str, tuple[Any, bool]] = {
    "unit_code": (gettext_lazy("Unit code"), True),
    "unit_name": (gettext_lazy("Unit name"), False),
    "criterion_code": (gettext_lazy("Criterion code"), True),
    "criterion_title": (gettext_lazy("Criterion"), False),
    "max_points": (gettext_lazy("Max points"), False),
    "score": (gettext_lazy("Score"), True),
}
# Header spellings accepted whatever the language the template was downloaded in.
ALIASES: dict[str, tuple[str, ...]] = {
    "unit_code": ("ma don vi", "unit code", "unit_code", "unit", "don vi"),
    "unit_name": ("ten don vi", "unit name", "unit_name"),
    "criterion_code": ("ma tieu chi", "criterion code", "criterion_code"),
    "criterion_title": ("tieu chi", "ten tieu chi", "criterion", "criterion title"),
    "max_points": ("diem toi da", "max points", "max_points", "max"),
    "score": ("diem", "diem xhh", "diem dieu tra", "score", "survey score"),
}
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")


def _fold(text: str) -> str:
    """Lower case without accents (đ → d), single spaces: how headers are compared."""
    text = unicodedata.normalize("NFD", str(text)).replace("đ", "d").replace("Đ", "D")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.casefold().replace("_", " ").split())


_HEADER_KEYS = {_fold(alias): key for key, names in ALIASES.items() for alias in names}


@dataclass(frozen=True)
class SurveyRow:
    """One accepted line of an import."""

    row: int
    unit_code: str
    criterion_code: str
    score: Decimal
    case_id: int
    criterion_id: int


@dataclass
class Table:
    """The cells of the file, row by row (1-based row numbers as the spreadsheet shows)."""

    rows: list[tuple[int, list[Any]]]
    merged: list[tuple[int, int, str]]  # (first row, first column, range)


def read_table(filename: str, content: bytes, problems: Problems) -> Table | None:
    """Read an .xlsx or CSV file from its bytes; None (with the problem noted) if unreadable."""
    if not content:
        problems.add(_("The file is empty."))
        return None
    if len(content) > MAX_BYTES:
        problems.add(
            _("The file is larger than %(size)s MB.") % {"size": MAX_BYTES // (1024 * 1024)}
        )
        return None
    if content.startswith(b"PK\x03\x04"):
        return _read_xlsx(content, problems)
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        problems.add(
            _("This is an old Excel file (.xls) or another Office document: save it as .xlsx.")
        )
        return None
    if filename.lower().endswith((".xlsx", ".xlsm")):
        problems.add(_("The file is named .xlsx but is not an Excel workbook."))
        return None
    return _read_csv(content, problems)


def _read_xlsx(content: bytes, problems: Problems) -> Table | None:
    try:
        workbook = load_workbook(io.BytesIO(content), data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError):
        problems.add(_("The file is not an Excel workbook (.xlsx) that can be read."))
        return None
    sheet = workbook.worksheets[0]
    if sheet.max_row > MAX_ROWS + 1:
        problems.add(_("The file has more than %(rows)s rows.") % {"rows": MAX_ROWS})
        return None
    merged = [
        (cells.min_row, cells.min_col, cells.coord)
        for cells in sorted(sheet.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col))
    ]
    rows = [
        (number, list(values))
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
    ]
    return Table(rows=rows, merged=merged)


def _read_csv(content: bytes, problems: Problems) -> Table | None:
    if b"\x00" in content:
        problems.add(_("The file is neither an Excel workbook (.xlsx) nor a CSV text file."))
        return None
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.add(_("The CSV file is not in UTF-8: save it as “CSV UTF-8” and import it again."))
        return None
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    for number, values in enumerate(reader, start=1):
        if number > MAX_ROWS + 1:
            problems.add(_("The file has more than %(rows)s rows.") % {"rows": MAX_ROWS})
            return None
        rows.append((number, [v if v.strip() else None for v in values]))
    return Table(rows=rows, merged=[])


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _code(value: Any) -> str:
    """A code as text, whether the cell held text or a number (3.8, 101)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFC", str(value)).strip()


def _number(value: Any) -> Decimal | None:
    """The cell as a number, or None when it is text, a date or a yes/no."""
    if isinstance(value, bool | date | datetime | time):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # Excel stores 8.5 as a binary float: keep what a person typed, not the float noise.
        # Beyond 10^18 there is no noise to drop, and quantizing needs more than 28 digits.
        exact = Decimal(repr(value))
        return exact if abs(exact) >= 10**18 else exact.quantize(Decimal("1e-9")).normalize()
    text = str(value).strip().replace("\u00a0", "").replace(" ", "")
    if not _NUMBER.match(text):
        return None
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None


def _header(table: Table, problems: Problems) -> dict[str, int] | None:
    """Column key → column number, from row 1; None when the columns are wrong."""
    before = len(problems.items)
    if not table.rows or all(_blank(v) for v in table.rows[0][1]):
        problems.add(_("The first row must hold the column names of the template."), row=1)
        return None
    found: dict[str, int] = {}
    for column, value in enumerate(table.rows[0][1], start=1):
        if _blank(value):
            continue
        key = _HEADER_KEYS.get(_fold(value))
        label = str(value).strip()
        if key is None:
            problems.add(
                _("unexpected column “%(name)s”; the template's columns are: %(names)s.")
                % {"name": label, "names": ", ".join(str(c[0]) for c in COLUMNS.values())},
                row=1,
                column=column,
                header=label,
            )
        elif key in found:
            problems.add(
                _("the column “%(name)s” appears twice.") % {"name": label},
                row=1,
                column=column,
                header=label,
            )
        else:
            found[key] = column
    for key, (label, required) in COLUMNS.items():
        if required and key not in found:
            problems.add(_("The column “%(name)s” is missing.") % {"name": label}, row=1)
    return None if len(problems.items) > before else found


class _Context:
    """What the rows are checked against: the cycle's cases and their leaf criteria."""

    def __init__(self, cycle: Cycle) -> None:
        self.cases: dict[str, tuple[int, int, str]] = {
            code.upper(): (case_id, group_id, code)
            for case_id, code, group_id in Case.objects.filter(cycle=cycle).values_list(
                "pk", "unit__code", "unit__group_id"
            )
        }
        self.criteria: dict[tuple[int, str], tuple[int, str, Decimal, str]] = {
            (group_id, code): (pk, method, max_points, code)
            for pk, group_id, code, method, max_points in Criterion.objects.filter(
                framework__cycle=cycle, is_leaf=True
            ).values_list("pk", "framework__unit_group_id", "code", "method", "max_points")
        }


def parse(cycle: Cycle, filename: str, content: bytes) -> list[SurveyRow]:
    """Every row of the file checked against the cycle; ImportRefused listing all problems."""
    problems = Problems()
    table = read_table(filename, content, problems)
    if table is None:
        problems.refuse_if_any()
        return []
    columns = _header(table, problems)
    header_row = table.rows[0][1] if table.rows else []
    for first_row, first_column, cells in table.merged:
        name = header_row[first_column - 1] if first_column <= len(header_row) else None
        problems.add(
            _("the cells %(range)s are merged; unmerge them and fill every row.")
            % {"range": cells},
            row=first_row,
            column=first_column,
            header=str(name).strip() if not _blank(name) else cells,
        )
    if columns is None:
        problems.refuse_if_any()
        return []
    # Messages name the columns as the file does, so the reader finds them.
    labels = {key: str(table.rows[0][1][column - 1]).strip() for key, column in columns.items()}
    merged_rows = {
        row for first_row, _col, cells in table.merged for row in _rows_of(cells, first_row)
    }
    context = _Context(cycle)
    seen: dict[tuple[int, int], int] = {}
    accepted: list[SurveyRow] = []
    for number, values in table.rows[1:]:
        if all(_blank(v) for v in values) or number in merged_rows:
            continue
        row = _check_row(number, values, columns, labels, context, seen, problems)
        if row is not None:
            accepted.append(row)
    if not accepted and not problems:
        problems.add(_("The file has no score rows."))
    problems.refuse_if_any()
    return accepted


def _rows_of(cells: str, first_row: int) -> Iterator[int]:
    last = int(re.sub(r"[A-Z$]", "", cells.split(":")[-1]) or first_row)
    return iter(range(first_row, last + 1))


def _check_row(
    number: int,
    values: list[Any],
    columns: dict[str, int],
    labels: dict[str, str],
    context: _Context,
    seen: dict[tuple[int, int], int],
    problems: Problems,
) -> SurveyRow | None:
    def cell(key: str) -> Any:
        index = columns[key] - 1
        return values[index] if index < len(values) else None

    def problem(key: str, message: str) -> None:
        problems.add(message, row=number, column=columns[key], header=labels[key])

    before = len(problems.items)
    unit_raw, criterion_raw, score_raw = cell("unit_code"), cell("criterion_code"), cell("score")
    case = criterion = None
    if _blank(unit_raw):
        problem("unit_code", _("the unit code is empty."))
    else:
        case = context.cases.get(_code(unit_raw).upper())
        if case is None:
            problem(
                "unit_code",
                _("no unit with code “%(code)s” is assessed in this cycle.")
                % {"code": _code(unit_raw)},
            )
    if _blank(criterion_raw):
        problem("criterion_code", _("the criterion code is empty."))
    elif case is not None:
        criterion = context.criteria.get((case[1], _code(criterion_raw)))
        if criterion is None:
            problem(
                "criterion_code",
                _("“%(code)s” is not a scored criterion of unit %(unit)s's framework.")
                % {"code": _code(criterion_raw), "unit": case[2]},
            )
        elif criterion[1] != Method.SURVEY:
            problem(
                "criterion_code",
                _("criterion %(code)s is not scored by the survey.") % {"code": criterion[3]},
            )
            criterion = None
    score = None
    if _blank(score_raw):
        problem("score", _("the score is empty."))
    else:
        score = _number(score_raw)
        if score is None:
            problem("score", _("“%(value)s” is not a number.") % {"value": score_raw})
        elif score < 0:
            problem("score", _("the score cannot be negative."))
        elif score != score.quantize(CENT):
            problem("score", _("use at most two decimal places."))
        elif criterion is not None and score > criterion[2]:
            problem(
                "score",
                _(
                    "the score %(score)s is above the maximum of %(max)s points of criterion %(code)s."
                )
                % {"score": fmt(score), "max": fmt(criterion[2]), "code": criterion[3]},
            )
    if case is not None and criterion is not None:
        key = (case[0], criterion[0])
        if key in seen:
            problems.add(
                _("unit %(unit)s, criterion %(code)s is already on row %(first)s.")
                % {"unit": case[2], "code": criterion[3], "first": seen[key]},
                row=number,
            )
        else:
            seen[key] = number
    if len(problems.items) > before or case is None or criterion is None or score is None:
        return None
    return SurveyRow(
        row=number,
        unit_code=case[2],
        criterion_code=criterion[3],
        score=score.quantize(CENT),
        case_id=case[0],
        criterion_id=criterion[0],
    )


def template_rows(cycle: Cycle) -> list[list[Any]]:
    """One row per (unit, survey criterion) of the cycle, with the score in force if any."""
    scores = (
        Score.objects.survey_of(cycle)
        .order_by("case__unit__group__code", "case__unit__code", "criterion__position")
        .values_list(
            "case__unit__code",
            "case__unit__name",
            "criterion__code",
            "criterion__title",
            "criterion__max_points",
            "appraised_score",
        )
    )
    return [list(row) for row in scores]


def template_headers() -> list[str]:
    return [str(label) for label, _required in COLUMNS.values()]


def template_xlsx(cycle: Cycle) -> bytes:
    """The downloadable template: the first sheet is the table to fill, the second explains."""
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)  # a new workbook opens on its one worksheet
    sheet.title = _("Survey")[:31]
    sheets.header_row(sheet, template_headers())
    for row in template_rows(cycle):
        sheet.append([*row[:4], float(row[4]), float(row[5]) if row[5] is not None else None])
        for column in (1, 3):  # codes stay text: 3.10 must not become 3.1
            sheet.cell(row=sheet.max_row, column=column).number_format = "@"
    sheets.format_table(sheet, 2)
    sheets.widths(sheet, (14, 36, 14, 60, 12, 10))
    sheet.freeze_panes = "A2"
    sheets.print_setup(sheet, title=f"{_('Survey')} — {cycle.title}", header_rows=(1, 1))
    notes = workbook.create_sheet(_("Instructions")[:31])
    for line in (
        _("Fill the column “Score” with each unit's survey score for each criterion."),
        _("Keep the first row (the column names); do not merge cells."),
        _("Scores are numbers from 0 to the criterion's maximum, with at most two decimals."),
        _("Importing a file replaces every survey score of the previous import."),
        f"{cycle.title} — {cycle.authority}",
    ):
        notes.append([line])
    notes.column_dimensions["A"].width = 100
    notes["A1"].alignment = Alignment(wrap_text=True)
    keep_texts(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _decimal_comma(value: Any) -> Any:
    """A number as a Vietnamese reader writes it (2 · 7,5 · 1,25); the import reads it back."""
    if not isinstance(value, Decimal):
        return value
    return format(value.normalize(), "f").replace(".", ",")


def template_csv(cycle: Cycle) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(template_headers())
    for row in template_rows(cycle):
        writer.writerow(["" if v is None else csv_value(_decimal_comma(v)) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
