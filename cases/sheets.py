"""How every workbook the product writes prints: the page an official puts in the printer.

A4 landscape, fitted to the page width (as many pages down as the rows need), the header rows
repeated on every page, the sheet's title and "page n of m" in the page header and footer,
and numbers with two decimals and the decimal comma ("96,40").

The decimal comma: a number format tagged with the Vietnamese locale (`[$-42A]`) makes
LibreOffice print it with the comma whatever the computer's own locale; Excel prints with the
separators of the computer's regional settings (a comma on a Vietnamese Windows).

It lives in `cases`, the lowest layer, so that every app that writes a workbook (survey
template, results, documents) can use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from openpyxl.styles import Alignment, Border, Font, NamedStyle, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

POINTS_FORMAT = "[$-42A]#,##0.00"
INTEGER_FORMAT = "[$-42A]0"  # ranks, counts, years: no thousands separator
TEXT_FORMAT = "@"
THIN = Side(style="thin", color="808080")
GRID = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FONT = Font(name="Times New Roman", bold=True, size=11)
BODY_FONT = Font(name="Times New Roman", size=11)
TITLE_FONT = Font(name="Times New Roman", bold=True, size=13)


def header_row(sheet: Worksheet, values: Iterable[Any]) -> int:
    """Append a bold, wrapped, framed header row; return its number."""
    sheet.append(list(values))
    row = sheet.max_row
    for cell in sheet[row]:
        cell.font = HEADER_FONT
        cell.border = GRID
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    return row


def title_row(sheet: Worksheet, text: str, *, bold: bool = True) -> int:
    sheet.append([text])
    row = sheet.max_row
    sheet.cell(row=row, column=1).font = TITLE_FONT if bold else BODY_FONT
    return row


def text_row(sheet: Worksheet, text: str) -> int:
    """A line of text under a table (a legend, a note), in the document's font."""
    sheet.append([text])
    row = sheet.max_row
    sheet.cell(row=row, column=1).font = BODY_FONT
    return row


def spanning_row(sheet: Worksheet, lead: Sequence[Any], text: str, width: int) -> int:
    """Append a row of a table `width` columns wide whose first cells are `lead` and whose
    remaining cells hold `text` merged into one: a part of the table ("units not ranked") or
    a reason standing in place of figures. Set the column widths first: the row is given
    the height its wrapped text needs (no spreadsheet fits a merged cell's height)."""
    sheet.append([*lead, text])
    row = sheet.max_row
    start = len(lead) + 1
    if start < width:
        sheet.merge_cells(start_row=row, start_column=start, end_row=row, end_column=width)
    merged = sum(
        sheet.column_dimensions[get_column_letter(c)].width or 10 for c in range(start, width + 1)
    )
    per_line = max(int(merged * 1.1) - 1, 4)
    lines = sum(-(-max(len(part), 1) // per_line) for part in text.split("\n"))
    if lines > 1:
        sheet.row_dimensions[row].height = 15 * lines + 3
    return row


def bold_cell(sheet: Worksheet, row: int, column: int = 1) -> None:
    """One cell of a formatted table in bold (the title of a part of it)."""
    sheet.cell(row=row, column=column).font = HEADER_FONT


def widths(sheet: Worksheet, columns: Iterable[float]) -> None:
    for column, width in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width


# Named styles, registered once per workbook: setting a cell's font, border and alignment
# one by one cost several times as much as writing the workbook itself (bench/documents.py
# prints the ratio against a plain workbook).
_STYLES: dict[str, dict[str, Any]] = {
    "par-points": {
        "number_format": POINTS_FORMAT,
        "alignment": Alignment(horizontal="right", vertical="top"),
    },
    "par-integer": {
        "number_format": INTEGER_FORMAT,
        "alignment": Alignment(horizontal="center", vertical="top"),
    },
    "par-text": {"alignment": Alignment(wrap_text=True, vertical="top")},
    "par-empty": {},
}


def _style_names(sheet: Worksheet) -> None:
    workbook = sheet.parent
    assert workbook is not None  # a worksheet always belongs to its workbook
    present = set(workbook.named_styles)
    for name, settings in _STYLES.items():
        if name not in present:
            workbook.add_named_style(NamedStyle(name=name, font=BODY_FONT, border=GRID, **settings))


def format_table(sheet: Worksheet, first_row: int, last_row: int | None = None) -> None:
    """Frame the table's cells and give numbers their format: a fractional figure (float or
    Decimal) two decimals, a whole number (rank, count) none. Text stays text."""
    _style_names(sheet)
    last_row = last_row or sheet.max_row
    for row in sheet.iter_rows(min_row=first_row, max_row=last_row):
        if all(cell.value is None for cell in row):
            continue
        for cell in row:
            value = cell.value
            if isinstance(value, bool) or value is None:
                cell.style = "par-empty"
            elif isinstance(value, float | Decimal):
                cell.style = "par-points"
            elif isinstance(value, int):
                cell.style = "par-integer"
            else:
                cell.style = "par-text"


def print_setup(sheet: Worksheet, *, title: str, header_rows: tuple[int, int]) -> None:
    """A4 landscape, one page wide, `header_rows` (first, last) repeated on every page, the
    title in the page header and the page number in the footer."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages down as needed
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_options.horizontalCentered = True
    # Narrow margins (inches) leave the table the width; the binding side a little wider.
    sheet.page_margins = PageMargins(
        left=0.6, right=0.4, top=0.8, bottom=0.7, header=0.3, footer=0.3
    )
    first, last = header_rows
    sheet.print_title_rows = f"{first}:{last}"
    for row in range(first, last + 1):
        _fit_height(sheet, row)
    # Header/footer codes: &P page, &N pages; a literal & is doubled.
    header, footer = sheet.oddHeader, sheet.oddFooter
    assert header is not None and footer is not None  # every worksheet has both
    header.center.text = title.replace("&", "&&")
    footer.center.text = "&P / &N"
    for part in (header.center, footer.center):
        part.size = 9
        part.font = f"{HEADER_FONT.name},Regular"


def _fit_height(sheet: Worksheet, row: int) -> None:
    """Give a wrapped header row the height of its longest cell: LibreOffice keeps the
    default height of a row written without one and cuts the text."""
    lines = 1
    for cell in sheet[row]:
        if not isinstance(cell.value, str):
            continue
        width = sheet.column_dimensions[cell.column_letter].width or 10
        per_line = max(int(width * 1.1) - 1, 4)
        wrapped = sum(-(-max(len(part), 1) // per_line) for part in cell.value.split("\n"))
        lines = max(lines, wrapped)
    sheet.row_dimensions[row].height = 15 * lines + 3
