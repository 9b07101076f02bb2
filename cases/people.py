"""Units and their people read from the province's workbook: the template and row checks.

The workbook has two sheets: units (code, name, unit group, parent unit) and accounts (full
name, e-mail, unit, role). Sheets are found by their name (Vietnamese or English, accents
and case ignored), else by position; the first row of each holds the column names.

Every problem is collected with its sheet, row and column (as a spreadsheet shows them), and
`parse` refuses the whole file when there is any: an import is all rows or none. A unit
already in the installation may be listed again unchanged (so the same file can be imported
twice); a different name, group or parent is refused, because renaming and merging keep the
lineage the results follow and are done on their own page. An e-mail that already has an
account adds that account to the unit instead of creating a second one. Writing the units,
accounts, memberships, invitations and audit entries is the workflow's job
(`workflow.people`).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from cases import permissions, sheets, workbooks
from cases.cells import keep_texts
from cases.models import Membership, Unit, UnitGroup
from cases.problems import Problems
from cases.survey import _blank, _code, _fold
from cases.users import User

_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5_000  # per sheet: a province has hundreds of units and a few thousand people
# Unpacked, the sheets of a full file take a few MB; a file packed small whose sheets unpack
# to more (a million empty formatted cells) is refused before it is read.
MAX_SHEET_BYTES = 16 * 1024 * 1024
MAX_COLUMNS = 30  # the template's columns and a few of the province's own

UNITS, PEOPLE = "units", "people"
SHEET_TITLES = {UNITS: gettext_lazy("Units"), PEOPLE: gettext_lazy("Accounts")}
SHEET_ALIASES = {
    UNITS: ("don vi", "units", "unit", "danh sach don vi"),
    PEOPLE: ("tai khoan", "accounts", "nguoi dung", "people", "can bo"),
}
# key: (label, required). Labels are the template's headers in the user's language.
COLUMNS: dict[str, dict[str, tuple[Any, bool]]] = {
    UNITS: {
        "code": (gettext_lazy("Unit code"), True),
        "name": (gettext_lazy("Unit name"), True),
        "group": (gettext_lazy("Unit group code"), True),
        "group_name": (gettext_lazy("Unit group name"), False),
        "parent": (gettext_lazy("Parent unit code"), False),
    },
    PEOPLE: {
        "full_name": (gettext_lazy("Full name"), True),
        "email": (gettext_lazy("E-mail"), True),
        "unit": (gettext_lazy("Unit code"), True),
        "role": (gettext_lazy("Role"), True),
    },
}
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    UNITS: {
        "code": ("ma don vi", "unit code", "code", "ma"),
        "name": ("ten don vi", "unit name", "name", "ten"),
        "group": ("ma khoi", "unit group code", "khoi", "unit group", "group"),
        "group_name": ("ten khoi", "unit group name", "group name"),
        "parent": ("ma don vi cap tren", "parent unit code", "don vi cap tren", "parent"),
    },
    PEOPLE: {
        "full_name": ("ho va ten", "ho ten", "full name", "name"),
        "email": ("email", "e-mail", "thu dien tu", "dia chi email"),
        "unit": ("ma don vi", "unit code", "don vi", "unit"),
        "role": ("vai tro", "role", "chuc vu"),
    },
}
ROLE_WORDS = {
    Membership.Role.STAFF: (
        "cong chuc phu trach cchc",
        "can bo",
        "chuyen vien",
        "cong chuc",
        "staff",
        "unit staff",
    ),
    Membership.Role.HEAD: (
        "thu truong don vi",
        "thu truong",
        "lanh dao",
        "truong don vi",
        "head",
        "unit head",
    ),
}
_ROLES: dict[str, str] = {_fold(word): role for role, words in ROLE_WORDS.items() for word in words}
# The roles of the whole province: an account with one of them belongs to no unit.
PROVINCE_ROLES = {
    permissions.SECRETARIAT: gettext_lazy("Department of Home Affairs"),
    permissions.LEADER: gettext_lazy("Chair of the appraisal council / provincial chair"),
    permissions.AUDITOR: gettext_lazy("Inspection (reads only)"),
}
# How a sheet may name them (folded like the headers): the labels above in Vietnamese and
# English, and the words a province writes.
PROVINCE_ROLE_WORDS = {
    permissions.SECRETARIAT: (
        "so noi vu",
        "co quan thuong truc",
        "department of home affairs",
        "secretariat",
    ),
    permissions.LEADER: (
        "chu tich hoi dong tham dinh / chu tich ubnd tinh",
        "chu tich hoi dong tham dinh",
        "chu tich ubnd",
        "chu tich ubnd tinh",
        "lanh dao ubnd tinh",
        "chair of the appraisal council / provincial chair",
        "leader",
    ),
    permissions.AUDITOR: (
        "thanh tra, kiem tra (chi xem)",
        "thanh tra, kiem tra",
        "thanh tra",
        "kiem tra",
        "inspection (reads only)",
        "auditor",
    ),
}
_PROVINCE_ROLES: dict[str, str] = {
    _fold(word): role for role, words in PROVINCE_ROLE_WORDS.items() for word in words
}


def sheet_title(kind: str) -> str:
    return str(SHEET_TITLES[kind])[:31]


@dataclass(frozen=True)
class UnitRow:
    row: int
    code: str
    name: str
    group: str
    group_name: str
    parent: str


@dataclass(frozen=True)
class PersonRow:
    row: int
    full_name: str
    email: str
    unit: str  # empty for a role of the whole province
    role: str  # a membership's role, or one of PROVINCE_ROLES
    user_id: int | None  # the existing account with this e-mail, if any


@dataclass
class Plan:
    """What an accepted file adds: new groups, units, accounts and memberships."""

    groups: dict[str, str] = field(default_factory=dict)  # code → name
    units: list[UnitRow] = field(default_factory=list)
    units_unchanged: int = 0
    people: list[PersonRow] = field(default_factory=list)


@dataclass
class Sheet:
    kind: str
    title: str  # as the file names it
    rows: list[tuple[int, list[Any]]]
    columns: dict[str, int] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


def read_workbook(content: bytes, problems: Problems) -> dict[str, Sheet]:
    """The two sheets of the workbook; empty (with the problem noted) when unreadable."""
    try:
        workbook = workbooks.open_uploaded(
            content,
            max_bytes=MAX_BYTES,
            max_sheet_bytes=MAX_SHEET_BYTES,
            too_large=_(
                "The workbook's sheets are too large (more than %(rows)s rows each): keep "
                "only the template's tables, without empty formatted cells."
            )
            % {"rows": MAX_ROWS},
            not_xlsx=_("The file is not an Excel workbook (.xlsx): use the template."),
        )
    except workbooks.Unreadable as refused:
        problems.add(refused.message)
        return {}
    try:
        return _sheets(workbook, problems)
    except (*workbooks.UNREADABLE_ERRORS, TypeError):
        problems.add(workbooks.unreadable().message)
        return {}
    finally:
        workbook.close()


def _sheets(workbook: Any, problems: Problems) -> dict[str, Sheet]:
    by_name = {
        kind: ws
        for ws in workbook.worksheets
        for kind, aliases in SHEET_ALIASES.items()
        if _fold(ws.title) in aliases
    }
    for position, kind in enumerate((UNITS, PEOPLE)):
        if kind not in by_name and len(workbook.worksheets) > position:
            candidate = workbook.worksheets[position]
            if candidate not in by_name.values():
                by_name[kind] = candidate
    found = {}
    for kind in (UNITS, PEOPLE):
        ws = by_name.get(kind)
        if ws is None:
            problems.add(
                _("The workbook has no sheet “%(name)s”; use the template.")
                % {"name": sheet_title(kind)}
            )
            continue
        rows = []
        cells = ws.iter_rows(max_col=MAX_COLUMNS, values_only=True)
        for number, values in enumerate(cells, start=1):
            if not any(not _blank(v) for v in values):
                continue  # empty (formatted) rows, wherever they are, say nothing
            if number > MAX_ROWS + 1:
                problems.add(
                    _("the sheet has more than %(rows)s rows.") % {"rows": MAX_ROWS},
                    sheet=ws.title,
                )
                break
            rows.append((number, list(values)))
        found[kind] = Sheet(kind=kind, title=ws.title, rows=rows)
    return found


def _header(sheet: Sheet, problems: Problems) -> bool:
    """Find the columns from row 1; False when they are wrong."""
    before = len(problems.items)
    if not sheet.rows or sheet.rows[0][0] != 1:
        problems.add(
            _("the first row must hold the column names of the template."), sheet=sheet.title, row=1
        )
        return False
    keys = {_fold(alias): key for key, names in ALIASES[sheet.kind].items() for alias in names}
    for column, value in enumerate(sheet.rows[0][1], start=1):
        if _blank(value):
            continue
        key = keys.get(_fold(value))
        label = str(value).strip()
        if key is None:
            continue  # a column of the province's own (a phone number …) is left alone
        if key in sheet.columns:
            problems.add(
                _("the column “%(name)s” appears twice.") % {"name": label},
                sheet=sheet.title,
                row=1,
                column=column,
                header=label,
            )
        else:
            sheet.columns[key] = column
            sheet.labels[key] = label
    for key, (label, required) in COLUMNS[sheet.kind].items():
        if required and key not in sheet.columns:
            problems.add(
                _("the column “%(name)s” is missing.") % {"name": label}, sheet=sheet.title, row=1
            )
    return len(problems.items) == before


class _Row:
    """One line of a sheet: its cells by column key, and where to report a problem."""

    def __init__(self, sheet: Sheet, number: int, values: list[Any], problems: Problems):
        self.sheet, self.number, self.values, self.problems = sheet, number, values, problems
        self.failed = False

    def raw(self, key: str) -> Any:
        column = self.sheet.columns.get(key)
        if column is None or column > len(self.values):
            return None
        return self.values[column - 1]

    def text(self, key: str, *, limit: int, required: str = "") -> str:
        value = self.raw(key)
        if _blank(value):
            if required:
                self.problem(key, required)
            return ""
        text = " ".join(_code(value).split())
        if len(text) > limit:
            self.problem(key, _("at most %(n)s characters.") % {"n": limit})
        return text

    def problem(self, key: str | None, message: str) -> None:
        self.failed = True
        self.problems.add(
            message,
            sheet=self.sheet.title,
            row=self.number,
            column=self.sheet.columns.get(key) if key else None,
            header=self.sheet.labels.get(key, "") if key else "",
        )


def parse(content: bytes) -> Plan:
    """Every row checked against the file and the installation; ImportRefused listing all
    problems, else what the file adds."""
    problems = Problems()
    found = read_workbook(content, problems)
    if problems:
        problems.refuse_if_any()
    plan = Plan()
    units, people = found[UNITS], found[PEOPLE]
    units_ok, people_ok = _header(units, problems), _header(people, problems)
    listed: dict[str, UnitRow] = {}
    if units_ok:
        listed = _check_units(units, problems, plan)
    if people_ok:
        _check_people(people, problems, plan, listed)
    if not problems and not plan.units and not plan.people and not plan.units_unchanged:
        problems.add(_("The file has no units and no accounts."))
    problems.refuse_if_any()
    return plan


def _check_units(sheet: Sheet, problems: Problems, plan: Plan) -> dict[str, UnitRow]:
    existing = {u.code.upper(): u for u in Unit.objects.select_related("group", "parent")}
    groups = {g.code: g.name for g in UnitGroup.objects.all()}
    seen: dict[str, UnitRow] = {}
    for number, values in sheet.rows[1:]:
        row = _Row(sheet, number, values, problems)
        code = row.text("code", limit=32, required=_("the unit code is empty."))
        name = row.text("name", limit=255, required=_("the unit name is empty."))
        group = row.text("group", limit=32, required=_("the unit group code is empty."))
        group_name = row.text("group_name", limit=200)
        parent = row.text("parent", limit=32)
        if code and code.upper() in seen:
            row.problem(
                "code",
                _("the unit code “%(code)s” is already on row %(first)s.")
                % {"code": code, "first": seen[code.upper()].row},
            )
            continue
        if group and group not in groups and group not in plan.groups:
            if not _SLUG.match(group):
                row.problem(
                    "group",
                    _(
                        "a new unit group code uses only letters without accents, digits, "
                        "“-” and “_” (for example khoi_xa)."
                    ),
                )
            elif not group_name:
                row.problem(
                    "group",
                    _(
                        "there is no unit group “%(code)s”; write its name in the column "
                        "“%(column)s” to create it."
                    )
                    % {"code": group, "column": COLUMNS[UNITS]["group_name"][0]},
                )
            else:
                plan.groups[group] = group_name
        unit_row = UnitRow(number, code, name, group, group_name, parent)
        if code:
            seen[code.upper()] = unit_row
        current = existing.get(code.upper()) if code else None
        if current is not None and not row.failed:
            _compare(row, current, unit_row)
            if not row.failed:
                plan.units_unchanged += 1
            continue
        if not row.failed:
            plan.units.append(unit_row)
    _check_parents(sheet, problems, seen, existing)
    if problems:
        plan.units.clear()
    return seen


def _compare(row: _Row, current: Unit, wanted: UnitRow) -> None:
    """A unit listed again must match what the installation has."""
    if not current.is_active:
        row.problem(
            "code",
            _("unit %(code)s has been merged or renamed and is no longer active.")
            % {"code": current.code},
        )
        return
    differs = []
    if current.name != wanted.name:
        differs.append(_("its name is “%(name)s”") % {"name": current.name})
    if current.group.code != wanted.group:
        differs.append(_("its unit group is %(code)s") % {"code": current.group.code})
    if (current.parent.code if current.parent else "").upper() != wanted.parent.upper():
        differs.append(
            _("its parent unit is %(code)s") % {"code": current.parent.code}
            if current.parent
            else _("it has no parent unit")
        )
    if differs:
        row.problem(
            "code",
            _(
                "unit %(code)s exists already and %(differences)s; rename or merge units on "
                "the Units and accounts page."
            )
            % {"code": current.code, "differences": "; ".join(differs)},
        )


def _check_parents(
    sheet: Sheet, problems: Problems, listed: dict[str, UnitRow], existing: dict[str, Unit]
) -> None:
    for unit in listed.values():
        if not unit.parent:
            continue
        row = _Row(sheet, unit.row, [], problems)
        key = unit.parent.upper()
        if key == unit.code.upper():
            row.problem("parent", _("a unit cannot be its own parent."))
        elif key not in listed and key not in existing:
            row.problem(
                "parent",
                _("no unit with code “%(code)s” in this file or in the installation.")
                % {"code": unit.parent},
            )
        elif key not in listed and not existing[key].is_active:
            row.problem(
                "parent",
                _("unit %(code)s has been merged or renamed and is no longer active.")
                % {"code": existing[key].code},
            )
        elif key in listed:
            # Follow the parents listed in the file: a loop never reaches the top.
            chain, current = {unit.code.upper()}, key
            while current in listed and listed[current].parent:
                if current in chain:
                    row.problem("parent", _("the parent units go round in a circle."))
                    break
                chain.add(current)
                current = listed[current].parent.upper()


def _check_people(sheet: Sheet, problems: Problems, plan: Plan, listed: dict[str, UnitRow]) -> None:
    active_units = {
        code.upper() for code in Unit.objects.filter(is_active=True).values_list("code", flat=True)
    }
    inactive_units = {
        code.upper() for code in Unit.objects.filter(is_active=False).values_list("code", flat=True)
    }
    rows: list[tuple[_Row, str, str, str, str]] = []
    seen: dict[str, int] = {}
    for number, values in sheet.rows[1:]:
        row = _Row(sheet, number, values, problems)
        full_name = row.text("full_name", limit=150, required=_("the full name is empty."))
        email = row.text("email", limit=254, required=_("the e-mail is empty.")).lower()
        role_text = row.text("role", limit=80, required=_("the role is empty."))
        province_role = _province_role(role_text)
        unit = row.text(
            "unit", limit=32, required="" if province_role else _("the unit code is empty.")
        )
        if province_role and unit:
            row.problem(
                "unit",
                _("leave the unit empty: “%(role)s” is a role of the whole province.")
                % {"role": PROVINCE_ROLES[province_role]},
            )
        if email:
            try:
                validate_email(email)
            except ValidationError:
                row.problem("email", _("“%(value)s” is not an e-mail address.") % {"value": email})
            else:
                if email in seen:
                    row.problem(
                        "email",
                        _("the e-mail %(email)s is already on row %(first)s.")
                        % {"email": email, "first": seen[email]},
                    )
                else:
                    seen[email] = number
        if unit and unit.upper() not in listed and unit.upper() not in active_units:
            if unit.upper() in inactive_units:
                message = _("unit %(code)s has been merged or renamed and is no longer active.")
            else:
                message = _("no unit with code “%(code)s” in this file or in the installation.")
            row.problem("unit", message % {"code": unit})
        role: str | None = province_role or (_ROLES.get(_fold(role_text)) if role_text else None)
        if role_text and role is None:
            row.problem(
                "role",
                _("“%(value)s” is not a role; write one of: %(roles)s.")
                % {"value": role_text, "roles": _role_names()},
            )
        rows.append((row, full_name, email, unit, role or ""))
    accounts = _accounts([email for _r, _n, email, _u, _role in rows if email])
    for row, full_name, email, unit, role in rows:
        user = accounts.get(email)
        if user is not None and not user.is_active:
            row.problem(
                "email",
                _(
                    "the account %(email)s is deactivated; reactivate it on the Units and accounts "
                    "page first."
                )
                % {"email": email},
            )
        elif user is not None and role in PROVINCE_ROLES:
            row.problem(
                "email",
                _(
                    "the account %(email)s exists already: a role of the whole province is given "
                    "to a new account only."
                )
                % {"email": email},
            )
        elif user is not None and not permissions.may_take_case_role(user):
            row.problem("email", permissions.case_role_refusal(user))
        if not row.failed:
            code = listed[unit.upper()].code if unit.upper() in listed else unit
            plan.people.append(
                PersonRow(row.number, full_name, email, code, role, user.pk if user else None)
            )
    if problems:
        plan.people.clear()


def _province_role(text: str) -> str | None:
    return _PROVINCE_ROLES.get(_fold(text)) if text else None


def _role_names() -> str:
    """Every role the sheet takes, as the template names them."""
    names = [Membership.Role.STAFF.label, Membership.Role.HEAD.label, *PROVINCE_ROLES.values()]
    return ", ".join(f"“{name}”" for name in names)


def _accounts(emails: list[str]) -> dict[str, User]:
    """Existing accounts by e-mail (or by a user name that is the e-mail), lower case."""
    if not emails:
        return {}
    found: dict[str, User] = {}
    users = User.objects.annotate(email_lower=Lower("email"), name_lower=Lower("username"))
    for user in users.filter(email_lower__in=emails).order_by("pk"):
        found.setdefault(user.email.lower(), user)
    for user in users.filter(name_lower__in=emails).order_by("pk"):
        found.setdefault(user.username.lower(), user)
    return found


def template_xlsx() -> bytes:
    """The workbook to fill: units, accounts, and a sheet that explains both."""
    workbook = Workbook()
    units = workbook.active
    assert isinstance(units, Worksheet)  # a new workbook opens on its one worksheet
    units.title = sheet_title(UNITS)
    accounts = workbook.create_sheet(sheet_title(PEOPLE))
    for sheet, kind, widths in (
        (units, UNITS, (14, 48, 16, 32, 18)),
        (accounts, PEOPLE, (30, 34, 14, 16)),
    ):
        sheets.header_row(sheet, [str(label) for label, _required in COLUMNS[kind].values()])
        for column in range(1, len(COLUMNS[kind]) + 1):  # codes stay text
            sheet.column_dimensions[get_column_letter(column)].number_format = "@"
        sheets.widths(sheet, widths)
        sheet.freeze_panes = "A2"
        sheets.print_setup(sheet, title=sheet.title, header_rows=(1, 1))
    notes = workbook.create_sheet(_("Instructions")[:31])
    for line in (
        _(
            "Sheet “%(sheet)s”: one row per unit. A new unit group is created when its name is given."
        )
        % {"sheet": sheet_title(UNITS)},
        _("Sheet “%(sheet)s”: one row per person; the role is one of: %(roles)s.")
        % {"sheet": sheet_title(PEOPLE), "roles": _role_names()},
        _(
            "The unit is given for a unit's staff and head only; the Department of Home Affairs, "
            "the chair and the inspection leave it empty."
        ),
        _("Each new account receives an e-mail with a link to set its own password."),
        _(
            "Keep the first row of each sheet (the column names); the file is taken whole or not at all."
        ),
        _(
            "Units already in the installation may stay in the file unchanged; rename or merge units on the Units and accounts page."
        ),
    ):
        notes.append([line])
    notes.column_dimensions["A"].width = 110
    notes["A1"].alignment = Alignment(wrap_text=True)
    keep_texts(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
