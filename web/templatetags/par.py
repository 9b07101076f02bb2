"""Template filters of the pages: points and counts as a Vietnamese reader writes them."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from cases.frameworks.excel import settings_text
from cases.users import AnonymousUser, User, display_name
from deadlines.calendar import last_day
from web import labels, uploads
from web.rows import SheetWords

register = template.Library()


@register.filter
def person(user: User | AnonymousUser | None) -> str:
    """A user's display name (`cases.users.display_name`); nothing for nobody."""
    return display_name(user) if isinstance(user, User) else ""


@register.filter
def pts(value: Any) -> str:
    """Points with the decimal comma and no useless zeros: 2,5 – 10 – 0,25; "—" when none."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if number == number.to_integral_value():
        return number_format(int(number))
    return number_format(number.normalize())


@register.filter
def official(value: Any) -> str:
    """A figure of an official table: always two decimals, decimal comma (96,40); "—" when none."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return number_format(number.quantize(Decimal("0.01")), decimal_pos=2)


@register.filter
def closing_day(deadline_at: Any) -> Any:
    """The day a deadline stored as an instant closes at its end, as deadlines are shown
    everywhere ("by the end of 10/12/2026", never "11/12/2026 00:00")."""
    return last_day(deadline_at) if deadline_at else None


@register.filter
def self_answer(row: Any) -> str:
    """A row's self score as read back, the declared answer in words ("Có (1 điểm)")."""
    s = row.score
    text = SheetWords.now().self_score_text(row.criterion, row.kind, s.self_score, s.value)
    return mark_safe(text)


@register.filter
def entry(value: Any) -> str:
    """A number as it goes back into an input field (decimal comma, empty when none)."""
    if value is None or value == "":
        return ""
    return pts(value)


@register.filter
def num(value: Any) -> str:
    """A count with thousands grouped: 3.500 in Vietnamese, 3,500 in English."""
    if value is None:
        return ""
    return number_format(value, force_grouping=True)


@register.filter
def anchor(code: str) -> str:
    """An HTML id for a criterion code (1.2.3 → c-1-2-3): dots would read as CSS classes."""
    return "c-" + str(code).replace(".", "-")


@register.filter
def action_label(action: str) -> str:
    return labels.action_label(action)


@register.filter
def state_label(state: str) -> str:
    return labels.state_label(state)


@register.filter
def transition_label(name: str) -> str:
    return labels.transition_label(name)


@register.filter
def percent(part: Any, whole: Any) -> int:
    """Whole percent of part in whole, for progress bars (0 when whole is 0)."""
    try:
        return int(Decimal(part) * 100 / Decimal(whole)) if whole else 0
    except (InvalidOperation, TypeError, ValueError):
        return 0


@register.filter
def get(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def field_label(name: str) -> str:
    return labels.field_label(name)


@register.filter
def change_value(value: Any, field: str = "") -> str:
    """A value of an audit entry's before/after, readable: numbers with the decimal comma,
    a field's stored code (a decision, a status) in words."""
    if value is None or value == "":
        return "—"
    words = labels.value_label(field, value)
    if words is not None:
        return words
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, int | float | Decimal):
        return pts(value)
    text = str(value)
    try:
        return pts(Decimal(text)) if text.replace(".", "", 1).isdigit() else text
    except InvalidOperation:
        return text


def _sheet_page(context: Any) -> Any:
    """One page context for all the areas of this rendering (words translated once)."""
    from web import rows as row_html

    page = context.render_context.get("score_rows_page")
    if page is None:
        page = row_html.SheetContext.for_page(context["request"], context["case"])
        context.render_context["score_rows_page"] = page
    return page


@register.simple_tag(takes_context=True)
def top_bar(context: Any) -> SafeString:
    """The top bar of every page (see web/frame.py for why in Python)."""
    from web import frame

    person_name = escape(person(context.get("user")))
    return mark_safe(frame.top_bar(context, person_name))  # every value in it is escaped


@register.simple_tag(takes_context=True)
def case_header(context: Any, tab: str) -> SafeString:
    """The case's header and the tabs of its pages (see web/case_parts.py)."""
    from web import case_parts, frame

    html = case_parts.case_header(context["case"], tab, frame.url("web:home"))
    return mark_safe(html)  # every value in it is escaped


@register.simple_tag(takes_context=True)
def sheet_top(context: Any) -> SafeString:
    """The score sheet's header and deadlines, up to the extension form (see
    web/case_parts.py: drawn by the template engine, the sheet's head took some forty nodes)."""
    from web import case_parts, frame

    html = case_parts.sheet_top(context["case"], context["sheet"], frame.url("web:home"))
    return mark_safe(html)  # every value in it is escaped


@register.simple_tag(takes_context=True)
def sheet_rest(context: Any) -> SafeString:
    """The rest of the score sheet's head: totals, questions, checklist, steps."""
    from web import case_parts, frame

    html = case_parts.sheet_rest(
        context["case"],
        context["sheet"],
        show_checklist=bool(context.get("show_checklist")),
        csrf=frame.csrf_input(context),
    )
    return mark_safe(html)  # every value in it is escaped


@register.simple_tag(takes_context=True)
def case_deadlines(context: Any, deadlines: Any) -> SafeString:
    """The case's deadlines (see web/case_parts.py)."""
    from web import case_parts

    return mark_safe(case_parts.deadlines(context["case"], deadlines))  # escaped within


@register.simple_tag
def case_totals(totals: Any, appraised: bool, index_final: bool = False) -> SafeString:
    """The case's figures part by part (see web/case_parts.py)."""
    from web import case_parts

    return mark_safe(case_parts.totals(totals, appraised, index_final))  # escaped within


@register.simple_tag(takes_context=True)
def case_transitions(context: Any, transitions: list[str], back: str) -> SafeString:
    """The forms of the steps the user may take now (see web/case_parts.py)."""
    from web import case_parts, frame

    html = case_parts.transitions(context["case"], transitions, back, frame.csrf_input(context))
    return mark_safe(html)  # every value in it is escaped


@register.simple_tag(takes_context=True)
def area_nav(context: Any) -> SafeString:
    """The links to the sheet's areas (see web/rows.py)."""
    from web import rows as row_html

    return row_html.area_nav(context["sheet"].areas, _sheet_page(context).words)


@register.simple_tag(takes_context=True)
def area_sections(context: Any) -> SafeString:
    """Every area of the score sheet with its rows, in Python like the rows themselves."""
    from web import rows as row_html

    sheet = context["sheet"]
    return row_html.area_sections(sheet.areas, page=_sheet_page(context), can_edit=sheet.can_edit)


@register.simple_tag(takes_context=True)
def row_forms(context: Any) -> SafeString:
    """What the forms of the sheet's rows share, inside the tag of the element around them."""
    from web import rows as row_html

    return row_html.row_forms(_sheet_page(context))


@register.simple_tag(takes_context=True)
def upload_forms(context: Any) -> SafeString:
    """What the evidence upload forms of the appraisal page share, inside the tag of the
    element around them."""
    page = context["row_page"]  # built once by the view for the whole page
    return mark_safe(page.upload_settings())  # the words are escaped already


@register.simple_tag(takes_context=True)
def evidence_block(context: Any, row: Any) -> str:
    """A criterion's evidence on the appraisal page (the same block as on the sheet)."""
    from django.utils.safestring import mark_safe

    from web import rows as row_html

    page = context.get("row_page")  # built once by the view for the whole page
    if page is None:
        page = row_html.SheetContext.for_page(context["request"], context["case"], "appraisal")
    return mark_safe(row_html.evidence_block(row, page))


@register.simple_tag
def overview_rows(rows: Any, selectable: bool = False) -> str:
    from web import rows as row_html

    return row_html.overview_rows(rows, selectable)


@register.simple_tag
def latest_published_cycle() -> Any:
    """The most recent cycle whose results are published (the sign-in page links to it)."""
    from cases.models import Cycle

    return Cycle.objects.filter(status=Cycle.Status.PUBLISHED).order_by("-year", "-pk").first()


@register.filter
def settings_of(node: Any) -> str:
    """A criterion's method settings as the criteria-set workbook writes them."""
    return settings_text(node.method, node.config)


@register.simple_tag
def upload_limit(kind: str) -> SafeString:
    """The attributes that make an upload form say its size limit before sending
    (web/uploads.py): {% upload_limit "survey" %} inside the form's tag."""
    return uploads.limit_attributes(kind)
