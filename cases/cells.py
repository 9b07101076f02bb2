"""Texts written into CSV and Excel files stay texts.

A spreadsheet reads a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return as
a formula (CSV/formula injection): a unit or a reason named `=HYPERLINK(…)` would run in the
reader's Excel. CSV has no cell types, so such a text gets a leading apostrophe, which Excel and
LibreOffice read as "this is text". An Excel cell is typed: it is stored as a string with the
quote-prefix style, so its value is unchanged and it stays text when edited.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_value(value: Any) -> Any:
    """The value to write into a CSV cell: texts that would start a formula are quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def keep_texts(workbook: Any) -> None:
    """Make every text cell of an openpyxl workbook a string cell (call before saving).

    openpyxl turns a text beginning with `=` into a formula and `#N/A`-like texts into error
    cells; both become strings again here.
    """
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and (
                    cell.data_type != "s" or cell.value.startswith(FORMULA_STARTS)
                ):
                    cell.data_type = "s"
                    cell.quotePrefix = True
