"""Word documents in the administrative format (Nghị định 30/2020/NĐ-CP), written as a stream.

The format, as `docs/documents.md` describes it: A4, margins 2 cm top and bottom, 3 cm left,
1.5 cm right (turned for a landscape annex); Times New Roman 13 pt; the heading block of the
issuing body (authority above, body in bold, number line) beside the national title and motto
with the place and date in italics; a bold centred title; tables whose header rows repeat on
every page; the signature block with "Nơi nhận".

python-docx builds the package (styles, fonts, page set-up) from its own template; the body
is written as WordprocessingML into a spooled file and streamed into the package's
`word/document.xml`. An appraisal report for 3,500 units holds hundreds of thousands of table
cells: as an in-memory tree that would cost gigabytes, streamed it costs the rows of one table.
The result is an ordinary `.docx` that Word, LibreOffice and python-docx open and edit.
"""

from __future__ import annotations

import functools
import io
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import IO, Any

import docx
from django.utils.formats import number_format
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

FONT = "Times New Roman"
BODY_SIZE = 13  # points
TABLE_SIZE = 11
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TWIPS_PER_CM = 567


def points(value: Decimal | float | int | None) -> str:
    """A figure as official tables print it: two decimals, decimal comma ("96,40")."""
    if value is None:
        return ""
    return number_format(Decimal(value), decimal_pos=2, use_l10n=True)


def day_line(place: str, day: date) -> str:
    """ "Sơn Hà, ngày 05 tháng 5 năm 2027": the decree writes days under 10 and the months
    January and February with a leading zero, and this line always in Vietnamese."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


def place_of(authority: str) -> str:
    """The place named in the date line: the province of "UBND tỉnh Sơn Hà" is "Sơn Hà"."""
    text = authority.strip()
    for prefix in ("Ủy ban nhân dân", "Uỷ ban nhân dân", "UBND"):
        if text.casefold().startswith(prefix.casefold()):
            text = text[len(prefix) :].strip()
            break
    for prefix in ("tỉnh", "thành phố", "TP."):
        if text.casefold().startswith(prefix.casefold()):
            text = text[len(prefix) :].strip()
            break
    return text or "……"


def _x(text: Any) -> str:
    text = _NOT_XML.sub("", str(text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class Column:
    title: str
    width_cm: float
    align: str = "left"  # left, center, right


@dataclass(frozen=True)
class Bold:
    """A table row drawn in bold (an area line, a total)."""

    cells: Sequence[Any]


@dataclass(frozen=True)
class Span:
    """A table row whose first cells are `lead` and whose remaining columns hold `text` in one
    merged cell: a part of the table ("units not ranked", in bold) or a reason standing in
    place of figures."""

    lead: Sequence[Any]
    text: str
    bold: bool = False


def _twips(cm: float) -> int:
    return int(cm * _TWIPS_PER_CM)


_NO_BORDERS = "".join(
    f'<w:{side} w:val="nil"/>' for side in ("top", "left", "bottom", "right", "insideH", "insideV")
)
_GRID_BORDERS = "".join(
    f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
    for side in ("top", "left", "bottom", "right", "insideH", "insideV")
)


def _table_start(widths: Sequence[float], *, framed: bool) -> str:
    """A table of fixed column widths (cm): framed and centred (data), or without borders
    (the layout of the heading and signature blocks). Properties in the schema's order."""
    grid = "".join(f'<w:gridCol w:w="{_twips(w)}"/>' for w in widths)
    if framed:
        props = (
            f'<w:jc w:val="center"/><w:tblBorders>{_GRID_BORDERS}</w:tblBorders>'
            '<w:tblLayout w:type="fixed"/><w:tblCellMar><w:left w:w="57" w:type="dxa"/>'
            '<w:right w:w="57" w:type="dxa"/></w:tblCellMar>'
        )
    else:
        props = f'<w:tblBorders>{_NO_BORDERS}</w:tblBorders><w:tblLayout w:type="fixed"/>'
    return (
        f'<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/>{props}</w:tblPr>'
        f"<w:tblGrid>{grid}</w:tblGrid>"
    )


def _cell_start(width_cm: float, align: str, *, span: int = 1, middle: bool = False) -> str:
    """A table cell and its one paragraph opened, up to where its runs go."""
    props = f'<w:tcW w:w="{_twips(width_cm)}" w:type="dxa"/>'
    if span > 1:
        props += f'<w:gridSpan w:val="{span}"/>'
    if middle:
        props += '<w:vAlign w:val="center"/>'
    return (
        f"<w:tc><w:tcPr>{props}</w:tcPr><w:p><w:pPr>"
        f'<w:spacing w:before="0" w:after="0"/><w:jc w:val="{align}"/></w:pPr>'
    )


class Paper:
    """One document being written, top to bottom."""

    def __init__(self, *, landscape: bool = False) -> None:
        self.landscape = landscape
        # Closed by save(): the body lives as long as the document being written.
        self._body: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115

    # --- the pieces ----------------------------------------------------------------------

    def _write(self, xml: str) -> None:
        self._body.write(xml.encode("utf-8"))

    @staticmethod
    def _run(text: Any, *, bold: bool = False, italic: bool = False, size: int = 0) -> str:
        props = ("<w:b/>" if bold else "") + ("<w:i/>" if italic else "")
        if size:
            props += f'<w:sz w:val="{size * 2}"/><w:szCs w:val="{size * 2}"/>'
        lines = str(text).split("\n")
        body = "<w:br/>".join(f'<w:t xml:space="preserve">{_x(line)}</w:t>' for line in lines)
        return f"<w:r><w:rPr>{props}</w:rPr>{body}</w:r>" if props else f"<w:r>{body}</w:r>"

    @staticmethod
    def _ppr(align: str, *, indent: bool = False, before: int = 0, after: int = 6) -> str:
        jc = {"left": "left", "center": "center", "right": "right", "both": "both"}[align]
        ind = '<w:ind w:firstLine="567"/>' if indent else ""
        return (
            f'<w:pPr><w:spacing w:before="{before * 20}" w:after="{after * 20}"/>'
            f'{ind}<w:jc w:val="{jc}"/></w:pPr>'
        )

    def para(
        self,
        text: str = "",
        *,
        bold: bool = False,
        italic: bool = False,
        align: str = "both",
        indent: bool = True,
        size: int = 0,
        before: int = 0,
        after: int = 6,
    ) -> None:
        ppr = self._ppr(align, indent=indent, before=before, after=after)
        run = self._run(text, bold=bold, italic=italic, size=size) if text else ""
        self._write(f"<w:p>{ppr}{run}</w:p>")

    def heading(self, text: str) -> None:
        """A section heading: bold, flush left, kept with what follows."""
        self._write(
            '<w:p><w:pPr><w:keepNext/><w:spacing w:before="120" w:after="120"/>'
            f'<w:jc w:val="left"/></w:pPr>{self._run(text, bold=True)}</w:p>'
        )

    def title(self, kind: str, subject: str, *extra: str) -> None:
        """ "BÁO CÁO" and its subject, bold and centred, as the decree sets a title."""
        self.para(kind, bold=True, align="center", indent=False, size=14, before=12, after=0)
        self.para(subject, bold=True, align="center", indent=False, size=14, after=0)
        for line in extra:
            self.para(line, italic=True, align="center", indent=False, after=0)
        self.para("", after=6)

    def national_heading(
        self, *, authority: str, body: str, number: str, place: str, day: date | None
    ) -> None:
        """The two-column block above every administrative document."""
        left = [
            self._cell_p(authority.upper(), align="center"),
            self._cell_p(body.upper(), bold=True, align="center"),
            self._cell_p("――――", align="center"),
            self._cell_p(number, align="center"),
        ]
        right = [
            self._cell_p("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, align="center"),
            self._cell_p("Độc lập - Tự do - Hạnh phúc", bold=True, align="center", size=14),
            self._cell_p("――――――――", align="center"),
            self._cell_p(
                day_line(place, day) if day else f"{place}, ngày … tháng … năm …",
                italic=True,
                align="center",
            ),
        ]
        self._layout((6.5, 10.0) if not self.landscape else (9.0, 14.5), left, right)

    def _layout(self, widths: tuple[float, float], left: list[str], right: list[str]) -> None:
        """Two blocks side by side in a table without borders, kept on one page."""
        cells = "".join(
            f'<w:tc><w:tcPr><w:tcW w:w="{_twips(w)}" w:type="dxa"/></w:tcPr>{"".join(ps)}</w:tc>'
            for w, ps in zip(widths, (left, right), strict=True)
        )
        self._write(
            f"{_table_start(widths, framed=False)}<w:tr><w:trPr><w:cantSplit/></w:trPr>"
            f"{cells}</w:tr></w:tbl>"
        )

    def _cell_p(
        self,
        text: Any,
        *,
        bold: bool = False,
        italic: bool = False,
        align: str = "left",
        size: int = 0,
    ) -> str:
        jc = {"left": "left", "center": "center", "right": "right"}[align]
        run = self._run(text, bold=bold, italic=italic, size=size) if text != "" else ""
        return f'<w:p><w:pPr><w:spacing w:before="0" w:after="0"/><w:jc w:val="{jc}"/></w:pPr>{run}</w:p>'

    def table(self, columns: Sequence[Column], rows: Iterable[Sequence[Any] | Bold | Span]) -> int:
        """A framed table, its header row repeated on every page; numbers as `points`.
        Returns the number of body rows written."""
        size = f'<w:sz w:val="{TABLE_SIZE * 2}"/><w:szCs w:val="{TABLE_SIZE * 2}"/>'
        plain, bold = f"<w:rPr>{size}</w:rPr>", f"<w:rPr><w:b/>{size}</w:rPr>"
        self._write(_table_start([c.width_cm for c in columns], framed=True))
        header = "".join(
            f"{_cell_start(c.width_cm, 'center', middle=True)}<w:r>{bold}"
            f'<w:t xml:space="preserve">{_x(c.title)}</w:t></w:r></w:p></w:tc>'
            for c in columns
        )
        self._write(f"<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>{header}</w:tr>")
        starts = [_cell_start(c.width_cm, c.align) for c in columns]

        def cell(start: str, value: Any, rpr: str) -> str:
            text = points(value) if isinstance(value, Decimal | float) else value
            if text is None or text == "":
                return f"{start}</w:p></w:tc>"
            return f'{start}<w:r>{rpr}<w:t xml:space="preserve">{_x(text)}</w:t></w:r></w:p></w:tc>'

        count = 0
        chunk: list[str] = []
        for row in rows:
            chunk.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>")
            if isinstance(row, Span):
                lead = len(row.lead)
                chunk += [cell(st, v, plain) for st, v in zip(starts, row.lead, strict=False)]
                rest = columns[lead:]
                start = _cell_start(sum(c.width_cm for c in rest), "left", span=len(rest))
                chunk.append(cell(start, row.text, bold if row.bold else plain))
            else:
                cells, rpr = (row.cells, bold) if isinstance(row, Bold) else (row, plain)
                chunk += [cell(st, v, rpr) for st, v in zip(starts, cells, strict=True)]
            chunk.append("</w:tr>")
            count += 1
            if len(chunk) > 4000:
                self._write("".join(chunk))
                chunk.clear()
        self._write("".join(chunk) + "</w:tbl>")
        self.para("", after=0)
        return count

    def signature(
        self, left: Sequence[str], title: str, *, note: str = "", signer: str = ""
    ) -> None:
        """ "Nơi nhận" on the left; the signer's title, the note and the name on the right."""
        left_ps = [self._cell_p("Nơi nhận:", bold=True, italic=True, size=12)] + [
            self._cell_p(f"- {line};" if i < len(left) - 1 else f"- {line}.", size=11)
            for i, line in enumerate(left)
        ]
        right_ps = [self._cell_p(title.upper(), bold=True, align="center")]
        if note:
            right_ps.append(self._cell_p(note, italic=True, align="center"))
        right_ps += [self._cell_p("", align="center") for _blank in range(4)]
        right_ps.append(self._cell_p(signer, bold=True, align="center"))
        self._layout((8.0, 8.5) if not self.landscape else (12.0, 11.5), left_ps, right_ps)

    # --- the package ---------------------------------------------------------------------

    def save(self) -> bytes:
        """The finished `.docx`."""
        parts, opening, section = _skeleton(self.landscape)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
            for name, content in parts:
                package.writestr(name, content)
            with package.open("word/document.xml", "w", force_zip64=True) as part:
                part.write(opening.encode("utf-8"))
                self._body.seek(0)
                shutil.copyfileobj(self._body, part, 1024 * 1024)
                part.write(f"{section}</w:body></w:document>".encode())
        self._body.close()
        return out.getvalue()


@functools.cache
def _skeleton(landscape: bool) -> tuple[tuple[tuple[str, bytes], ...], str, str]:
    """The parts of an empty document whose styles and page set-up are the decree's, and the
    opening and closing of its body: made once per orientation, since python-docx takes
    longer to build and save it than the report's own tables take to write."""
    document = docx.Document()
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_SIZE)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), FONT)
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Cm(29.7), Cm(21)
        section.left_margin, section.right_margin = Cm(2), Cm(1.5)
        section.top_margin, section.bottom_margin = Cm(2), Cm(1.5)
    else:
        section.top_margin, section.bottom_margin = Cm(2), Cm(2)
        section.left_margin, section.right_margin = Cm(3), Cm(1.5)
    # Page numbers centred in the header, as the decree places them.
    header = section.header.paragraphs[0]
    header.alignment = 1
    run = header.add_run()
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = run._r.makeelement(qn("w:fldChar"), {qn("w:fldCharType"): kind})
        else:
            element = run._r.makeelement(qn("w:instrText"), {})
            element.text = text
        run._r.append(element)
    out = io.BytesIO()
    document.save(out)
    skeleton = zipfile.ZipFile(out)
    template = skeleton.read("word/document.xml").decode("utf-8")
    opening = template[: template.index("<w:body>") + len("<w:body>")]
    closing = template[template.index("<w:sectPr") : template.index("</w:body>")]
    parts = tuple(
        (name, skeleton.read(name)) for name in skeleton.namelist() if name != "word/document.xml"
    )
    return parts, opening, closing
