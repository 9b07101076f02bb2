"""A criteria set as a workbook: the template, reading an import, writing an export.

One row per node, in reading order, with the columns of a province's published table (code,
content, maximum, method and its settings, the scoring rule in words, evidence required,
not applicable allowed, guidance, data source). The tree comes from the codes: 1.2.3 sits
under 1.2, which must be on a row above it. Row 1 holds the column names (Vietnamese or
English, accents and case ignored); the first sheet is read, the others are notes.

The method's settings are written as text, one item a line (or separated by “;”):
bands "≥ 100%: 1,5", levels "Thực hiện đầy đủ: 1", and a single number for a deduction (points
per violation) or a bonus/penalty item (points each time); "0,5/ngày làm việc trễ" makes a
penalty item the late-submission deduction, whose working days late are counted from the
dates (`Criterion.config["counts"]`). Numbers take the decimal comma or point. Export writes
the same layout, so that a set goes out and comes back identical.

Every problem is named by row and column (`cases.problems.Problems`), and the file is refused
whole when there is any. A workbook is refused before it is parsed when its first sheet is
too large for a criteria set (a sheet of a million empty cells among them).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from cases import sheets, workbooks
from cases.cells import keep_texts
from cases.errors import InvalidInput
from cases.frameworks.tree import (
    Node,
    Tree,
    canonical_config,
    from_framework,
    number,
    problems,
    text_number,
)
from cases.models import BONUS_PENALTY, POINT_DIGITS, POINT_PLACES, Framework, Method
from cases.problems import Problems
from cases.scoring import LATE_WORKING_DAYS, fmt
from cases.survey import _blank, _code, _fold, _number

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2000
# The first sheet's XML, unpacked: a set of 2 000 rows fits in a few hundred kB.
MAX_SHEET_BYTES = 8 * 1024 * 1024

# key: (label, required)
COLUMNS: dict[str, tuple[Any, bool]] = {
    "code": (gettext_lazy("Code (No.)"), True),
    "title": (gettext_lazy("Content"), True),
    "max_points": (gettext_lazy("Max points"), True),
    "method": (gettext_lazy("Scoring method"), True),
    "settings": (gettext_lazy("Method settings"), False),
    "rule": (gettext_lazy("Scoring rule"), False),
    "evidence_required": (gettext_lazy("Evidence required"), False),
    "not_applicable_allowed": (gettext_lazy("May be not applicable"), False),
    "guidance": (gettext_lazy("Guidance for units"), False),
    "data_source": (gettext_lazy("Data source"), False),
}
WIDTHS = (10, 60, 10, 22, 30, 30, 12, 12, 50, 30)
# Spellings accepted besides the template's own headers in either language.
ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("ma", "stt", "ma so", "ma tieu chi", "code", "no"),
    "title": ("noi dung", "tieu chi", "noi dung tieu chi", "title", "content"),
    "max_points": ("diem toi da", "diem chuan", "diem", "max", "max points"),
    "method": ("phuong phap", "phuong phap cham", "cach tinh", "method", "scoring method"),
    "settings": ("thiet lap", "muc", "nguong", "settings", "method settings"),
    "rule": ("cach cham", "dien giai", "rule", "scoring rule"),
    "evidence_required": ("tai lieu kiem chung", "kiem chung", "evidence", "evidence required"),
    "not_applicable_allowed": ("khong ap dung", "duoc khong ap dung", "not applicable"),
    "guidance": ("huong dan", "huong dan cho don vi", "guidance"),
    "data_source": ("nguon so lieu", "nguon du lieu", "data source"),
}
# The largest maximum a criterion's column holds (99999.99).
MAX_POINTS = Decimal(10) ** (POINT_DIGITS - POINT_PLACES) - Decimal(10) ** -POINT_PLACES
YES = {"co", "x", "yes", "y", "1", "true", "dung", "bat buoc"}
NO = {"khong", "no", "n", "0", "false", "sai", ""}
# The unit of a penalty counted per working day late, accents and case folded.
_LATE_UNIT = re.compile(r"ngay lam viec (tre|cham)|working days? late")
_BAND = re.compile(r"^(?:≥|>=|>|từ|tu)?\s*([0-9]+(?:[.,][0-9]+)?)\s*%?\s*[:=→]\s*(.+)$", re.I)


def _header_keys() -> dict[str, str]:
    keys = {_fold(alias): key for key, names in ALIASES.items() for alias in names}
    for language in ("vi", "en"):
        with translation.override(language):
            keys.update({_fold(str(label)): key for key, (label, _r) in COLUMNS.items()})
    return keys


def _method_keys() -> dict[str, str]:
    keys = {_fold(m.value): m.value for m in Method}
    for language in ("vi", "en"):
        with translation.override(language):
            keys.update({_fold(str(m.label)): m.value for m in Method})
    return keys


# --- writing -------------------------------------------------------------------------------


def settings_text(method: str, config: dict[str, Any]) -> str:
    """The method's settings as the workbook writes them (and the pages show them)."""
    if method == Method.PERCENTAGE:
        return "\n".join(
            f"≥ {fmt(Decimal(str(b['min'])))}%: {fmt(Decimal(str(b['points'])))}"
            for b in config.get("thresholds", [])
        )
    if method == Method.GRADED:
        return "\n".join(
            f"{level['label']}: {fmt(Decimal(str(level['points'])))}"
            for level in config.get("levels", [])
        )
    if method == Method.DEDUCTION and config.get("per_violation"):
        return fmt(Decimal(str(config["per_violation"])))
    if method in BONUS_PENALTY:
        each = fmt(Decimal(str(config.get("points_each") or 0)))
        if method == Method.PENALTY and config.get("counts") == LATE_WORKING_DAYS:
            return _("%(points)s/working day late") % {"points": each}
        return each
    return ""


def _yes_no(value: bool) -> str:
    return str(_("Yes")) if value else str(_("No"))


def workbook(tree: Tree, *, title: str = "", notes: list[str] | None = None) -> bytes:
    """The set in the template's layout (an empty tree gives the template itself)."""
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)  # a new workbook opens on its one worksheet
    sheet.title = _("Criteria")[:31]
    sheets.header_row(sheet, [str(label) for label, _r in COLUMNS.values()])
    for node, _parent, depth in tree.walk():
        sheet.append(
            [
                node.code,
                node.title,
                float(node.max_points),
                str(Method(node.method).label) if node.method in Method.values else node.method,
                settings_text(node.method, node.config),
                node.config.get("rule", ""),
                _yes_no(node.evidence_required) if node.is_leaf else "",
                _yes_no(node.not_applicable_allowed),
                node.guidance,
                node.data_source,
            ]
        )
        row = sheet.max_row
        sheet.cell(row=row, column=1).number_format = "@"  # 1.10 must not become 1.1
        sheet.cell(row=row, column=2).alignment = Alignment(wrap_text=True, indent=depth)
    sheets.format_table(sheet, 2)
    sheets.widths(sheet, WIDTHS)
    sheet.freeze_panes = "C2"
    sheets.print_setup(sheet, title=title or _("Criteria set"), header_rows=(1, 1))
    info = book.create_sheet(_("Instructions")[:31])
    for line in [*(notes or []), *_instructions()]:
        info.append([line])
    info.column_dimensions["A"].width = 110
    keep_texts(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _instructions() -> list[str]:
    return [
        _("One row per area, criterion or sub-criterion, in order; keep the first row."),
        _("The code places the row in the tree: 1.2.3 belongs to 1.2, which must come above it."),
        _(
            "A parent's maximum is the sum of its children's; only rows without children are scored and have a method."
        ),
        _("Methods: %(names)s.") % {"names": "; ".join(str(m.label) for m in Method)},
        _("Settings of “%(m)s”: one band a line, “≥ 100%%: 1,5”.") % {"m": Method.PERCENTAGE.label},
        _("Settings of “%(m)s”: one level a line, “Done in full: 1”.") % {"m": Method.GRADED.label},
        _(
            "Settings of “%(m)s”: the points taken per violation; of a bonus or penalty item: the points each time."
        )
        % {"m": Method.DEDUCTION.label},
        _(
            "The penalty for sending the self-assessment late: “0,5/working day late”; the working days late are then counted from the dates, not typed."
        ),
        _(
            "Bonus and penalty items sit under an area of their own worth 0; their maximum is the cap."
        ),
        _("Evidence required, may be not applicable: Yes or No."),
    ]


def template() -> bytes:
    return workbook(Tree([]), title=_("Criteria set"))


def export(framework: Framework) -> bytes:
    notes = [framework.title]
    if framework.decision_number:
        notes.append(
            _("Decision %(number)s of %(date)s")
            % {
                "number": framework.decision_number,
                "date": framework.decision_date.strftime("%d/%m/%Y")
                if framework.decision_date
                else "",
            }
        )
    return workbook(from_framework(framework), title=framework.title, notes=notes)


# --- reading -------------------------------------------------------------------------------


def read(filename: str, content: bytes) -> Tree:
    """The tree of an uploaded workbook, checked; ImportRefused naming every problem."""
    found = Problems()
    rows = _rows(filename, content, found)
    if rows is None:
        found.refuse_if_any()
        return Tree([])
    columns = _columns(rows[0] if rows else (1, []), found)
    if columns is None:
        found.refuse_if_any()
        return Tree([])
    labels = {key: str(rows[0][1][col - 1]).strip() for key, col in columns.items()}
    methods = _method_keys()
    by_code: dict[str, Node] = {}
    areas: list[Node] = []
    for number_, values in rows[1:]:
        if all(_blank(v) for v in values):
            continue
        node = _node(number_, values, columns, labels, methods, found)
        if node is None:
            continue
        parent_code = node.code.rsplit(".", 1)[0] if "." in node.code else ""
        if parent_code:
            parent = by_code.get(parent_code)
            if parent is None:
                found.add(
                    _(
                        "there is no row with code %(parent)s above it, to which %(code)s would belong."
                    )
                    % {"parent": parent_code, "code": node.code},
                    row=number_,
                    column=columns["code"],
                    header=labels["code"],
                )
                continue
            parent.children.append(node)
        else:
            areas.append(node)
        by_code.setdefault(node.code, node)
    tree = Tree(areas)
    if not areas and not found:
        found.add(_("The file has no criteria rows."))
    for problem in problems(tree) if areas else []:
        node = problem.node
        column = columns.get(problem.column)
        found.add(
            problem.message,
            row=node.row if node is not None else None,
            column=column,
            header=labels.get(problem.column, ""),
        )
    found.refuse_if_any()
    return tree


def _rows(filename: str, content: bytes, found: Problems) -> list[tuple[int, list[Any]]] | None:
    try:
        book = workbooks.open_uploaded(
            content,
            max_bytes=MAX_BYTES,
            max_sheet_bytes=MAX_SHEET_BYTES,
            too_large=_(
                "The workbook's sheets are too large for a criteria set (more than %(rows)s rows of content): keep only the table, without empty formatted cells."
            )
            % {"rows": MAX_ROWS},
        )
    except workbooks.Unreadable as refused:
        found.add(refused.message)
        return None
    try:
        sheet = book.worksheets[0]
        rows: list[tuple[int, list[Any]]] = []
        for number_, values in enumerate(
            sheet.iter_rows(max_col=len(COLUMNS) + 10, values_only=True), start=1
        ):
            if number_ > MAX_ROWS + 1:
                if any(not _blank(v) for v in values):
                    found.add(_("The file has more than %(rows)s rows.") % {"rows": MAX_ROWS})
                    return None
                continue
            rows.append((number_, list(values)))
    except (*workbooks.UNREADABLE_ERRORS, IndexError):
        found.add(workbooks.unreadable().message)
        return None
    finally:
        book.close()
    return rows


def _columns(first: tuple[int, list[Any]], found: Problems) -> dict[str, int] | None:
    keys = _header_keys()
    columns: dict[str, int] = {}
    before = len(found.items)
    for column, value in enumerate(first[1], start=1):
        if _blank(value):
            continue
        key = keys.get(_fold(str(value)))
        label = str(value).strip()
        if key is None:
            continue  # a column of the province's own (notes, the unit in charge) is kept out
        if key in columns:
            found.add(
                _("the column “%(name)s” appears twice.") % {"name": label},
                row=1,
                column=column,
                header=label,
            )
        else:
            columns[key] = column
    for key, (label, required) in COLUMNS.items():
        if required and key not in columns:
            found.add(_("The column “%(name)s” is missing.") % {"name": label}, row=1)
    return None if len(found.items) > before else columns


def _node(
    row: int,
    values: list[Any],
    columns: dict[str, int],
    labels: dict[str, str],
    methods: dict[str, str],
    found: Problems,
) -> Node | None:
    def cell(key: str) -> Any:
        if key not in columns:
            return None
        index = columns[key] - 1
        return values[index] if index < len(values) else None

    def text(key: str) -> str:
        value = cell(key)
        return "" if _blank(value) else str(value).strip()

    def problem(key: str, message: str) -> None:
        found.add(message, row=row, column=columns.get(key), header=labels.get(key, ""))

    before = len(found.items)
    code = "" if _blank(cell("code")) else _code(cell("code")).rstrip(".")
    if not code:
        problem("code", _("the code is empty."))
    elif not re.fullmatch(r"[0-9A-Za-z]+(\.[0-9A-Za-z]+)*", code):
        problem("code", _("“%(code)s” is not a code such as 1, 1.2 or 1.2.3.") % {"code": code})
    title = text("title")
    if not title:
        problem("title", _("the content is missing."))
    max_points = Decimal(0)
    raw_max = cell("max_points")
    if _blank(raw_max):
        problem("max_points", _("the maximum is empty."))
    else:
        parsed = _number(raw_max)
        wrong = _max_points_problem(raw_max, parsed)
        if wrong or parsed is None:
            problem("max_points", wrong)
        else:
            max_points = parsed
    method = ""
    raw_method = text("method")
    if raw_method:
        method = methods.get(_fold(raw_method), "")
        if not method:
            problem(
                "method",
                _("unknown scoring method “%(method)s”; the methods are: %(names)s.")
                % {"method": raw_method, "names": ", ".join(str(m.label) for m in Method)},
            )
    config = _settings(method, text("settings"), lambda m: problem("settings", m))
    config["rule"] = text("rule")
    flags = {}
    for key in ("evidence_required", "not_applicable_allowed"):
        folded = _fold(text(key))
        if folded in YES:
            flags[key] = True
        elif folded in NO:
            flags[key] = False
        else:
            flags[key] = False
            problem(key, _("write Yes or No, not “%(value)s”.") % {"value": text(key)})
    if len(found.items) > before:
        return None
    return Node(
        code=code,
        title=title,
        max_points=max_points,
        method=method,
        config=canonical_config(method, config) if method else {},
        evidence_required=flags["evidence_required"],
        not_applicable_allowed=flags["not_applicable_allowed"],
        guidance=text("guidance"),
        data_source=text("data_source"),
        row=row,
    )


def settings_config(method: str, raw: str) -> dict[str, Any]:
    """A method's settings from the text an editor typed; InvalidInput naming each problem."""
    errors: list[str] = []
    config = _settings(
        method,
        raw,
        lambda m: errors.append(
            _("%(field)s: %(message)s") % {"field": COLUMNS["settings"][0], "message": m}
        ),
    )
    if errors:
        raise InvalidInput(errors[0], errors)
    return config


def _settings(method: str, raw: str, problem: Any) -> dict[str, Any]:
    """The method's settings from their text; each unreadable item is a problem."""
    items = [i.strip() for i in re.split(r"[;\n]", raw) if i.strip()]
    if method == Method.PERCENTAGE:
        bands = []
        for item in items:
            match = _BAND.match(item)
            low = _number(match.group(1)) if match else None
            points = _number(re.sub(r"\s*(điểm|points?)$", "", match.group(2))) if match else None
            if low is None or points is None:
                problem(_("“%(item)s” is not a band such as “≥ 80%%: 1,5”.") % {"item": item})
                continue
            bands.append({"min": number(low), "points": number(points)})
        return {"thresholds": bands}
    if method == Method.GRADED:
        levels = []
        for item in items:
            label, _sep, points_text = item.rpartition(":")
            points = _number(points_text.strip())
            if not label.strip() or points is None:
                problem(_("“%(item)s” is not a level such as “Done in full: 1”.") % {"item": item})
                continue
            levels.append({"label": label.strip(), "points": number(points)})
        return {"levels": levels}
    if method in (Method.DEDUCTION, Method.BONUS, Method.PENALTY):
        if not items:
            return {}
        amount, _slash, per = items[0].partition("/")
        step = _number(re.sub(r"\s*(điểm|points?)?\s*$", "", amount.strip()))
        if len(items) > 1 or step is None or step < 0:
            problem(_("give one number (the points), not “%(raw)s”.") % {"raw": raw})
            return {}
        if method == Method.DEDUCTION:
            return {"per_violation": text_number(step)}
        found: dict[str, Any] = {"points_each": text_number(step)}
        if method == Method.PENALTY:
            # "0,5/ngày làm việc trễ": the late-submission deduction, counted from the dates.
            late = _LATE_UNIT.search(_fold(per))
            found["counts"] = LATE_WORKING_DAYS if late else ""
        return found
    if items and method:
        problem(
            _("the method “%(method)s” takes no settings.")
            % {"method": Method(method).label if method in Method.values else method}
        )
    return {}


def _max_points_problem(raw: Any, parsed: Decimal | None) -> str:
    """What is wrong with a maximum, the same in the workbook and in the editor ("" if
    nothing): a number, not negative, that the score columns can hold, in hundredths."""
    if parsed is None:
        return _("“%(value)s” is not a number.") % {"value": raw}
    if parsed < 0:
        return _("the maximum cannot be negative (%(max)s).") % {"max": fmt(parsed)}
    if parsed > MAX_POINTS:
        return _("at most %(max)s points.") % {"max": fmt(MAX_POINTS)}
    if not _two_places(parsed):
        return _("use at most two decimal places.")
    return ""


def _two_places(value: Decimal) -> bool:
    """No digit past the hundredths (1,50 has two places), read from the digits: quantizing a
    number of 27 digits or more would exceed the decimal context and raise."""
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        return False
    if not any(digits):
        return True
    while exponent < -2 and digits and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    return exponent >= -2


def node_fields(fields: Mapping[str, Any], *, required: bool) -> dict[str, Any]:
    """A node's values from an editor's form or a request, as a row of the workbook gives
    them (the same words, numbers and settings); InvalidInput naming every problem.

    `required`: a new node needs its content and maximum; a change gives only what changes."""
    errors: list[str] = []
    out: dict[str, Any] = {}

    def problem(key: str, message: str) -> None:
        errors.append(_("%(field)s: %(message)s") % {"field": COLUMNS[key][0], "message": message})

    if "title" in fields or required:
        title = str(fields.get("title") or "").strip()
        if not title:
            problem("title", _("the content is missing."))
        elif len(title) > 500:
            problem("title", _("at most 500 characters."))
        out["title"] = title
    if "max_points" in fields or required:
        raw = fields.get("max_points")
        parsed = _number(raw) if not _blank(raw) else None
        wrong = _max_points_problem(raw or "", parsed)
        if wrong or parsed is None:
            problem("max_points", wrong)
        else:
            out["max_points"] = parsed
    method = ""
    if not _blank(fields.get("method")):
        raw_method = str(fields["method"]).strip()
        method = _method_keys().get(_fold(raw_method), "")
        if not method:
            problem(
                "method",
                _("unknown scoring method “%(method)s”; the methods are: %(names)s.")
                % {"method": raw_method, "names": ", ".join(str(m.label) for m in Method)},
            )
        out["method"] = method
    if "settings" in fields:
        out["settings"] = str(fields.get("settings") or "")
    if "rule" in fields:
        out["rule"] = str(fields.get("rule") or "").strip()
    for key in ("guidance", "data_source"):
        if key in fields:
            out[key] = str(fields.get(key) or "").strip()
    if len(out.get("data_source", "")) > 500:
        problem("data_source", _("at most 500 characters."))
    for key in ("evidence_required", "not_applicable_allowed"):
        if key in fields:
            value = fields.get(key)
            folded = _fold(str(value)) if not isinstance(value, bool) else ("co" if value else "")
            if folded in YES or folded == "on":
                out[key] = True
            elif folded in NO:
                out[key] = False
            else:
                problem(key, _("write Yes or No, not “%(value)s”.") % {"value": value})
    if errors:
        raise InvalidInput(errors[0], errors)
    return out
