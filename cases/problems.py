"""Every reason an uploaded file is refused, each with where it is: the one shape the
imports (survey scores, criteria sets, units and accounts) report in and the pages and the
API show (sheet when the workbook has several, row and column as a spreadsheet names them)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from cases.errors import ImportRefused


class Problems:
    """Every reason a file is refused, each with its (sheet,) row and column."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(
        self,
        message: str,
        *,
        sheet: str = "",
        row: int | None = None,
        column: int | None = None,
        header: str = "",
    ) -> None:
        letter = get_column_letter(column) if column else None
        if sheet:
            if row and letter:
                text = _(
                    "Sheet “%(sheet)s”, row %(row)s, column %(column)s (%(header)s): %(message)s"
                )
            elif row:
                text = _("Sheet “%(sheet)s”, row %(row)s: %(message)s")
            else:
                text = _("Sheet “%(sheet)s”: %(message)s")
        elif row and letter:
            text = _("Row %(row)s, column %(column)s (%(header)s): %(message)s")
        elif row:
            text = _("Row %(row)s: %(message)s")
        else:
            text = "%(message)s"
        values = {"sheet": sheet, "row": row, "column": letter, "header": header}
        self.items.append(
            {
                "sheet": sheet or None,
                "row": row,
                "column": letter,
                "message": message,
                "text": text % {**values, "message": message},
            }
        )

    def refuse_if_any(self) -> None:
        if self.items:
            sheets = list(dict.fromkeys(p["sheet"] for p in self.items))
            self.items.sort(  # in reading order: sheet by sheet, the file's own problems first
                key=lambda p: (
                    sheets.index(p["sheet"]),
                    p["row"] or 0,
                    len(p["column"] or ""),
                    p["column"] or "",
                )
            )
            raise ImportRefused(
                _("The file was not imported: correct these problems and import it again."),
                self.items,
            )

    def __bool__(self) -> bool:
        return bool(self.items)
