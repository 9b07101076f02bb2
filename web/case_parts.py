"""What every page of a case shows around its content (the header with its tabs, the
deadlines, the totals, the next steps), written in Python.

Drawn by the template engine, the four cost a score sheet about 0.7 ms of CPU: an include
each, and some thirty translate tags, URL reversals and filters for a few lines of markup.
The markup is the one their templates drew, byte for byte (`templates/web/partials` kept
none of them).
"""

from __future__ import annotations

from typing import Any

from django.template.defaultfilters import date as date_filter
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from web import labels
from web.frame import url_for
from web.templatetags.par import official, pts


def _current(active: bool) -> str:
    return ' aria-current="page"' if active else ""


def case_header(case: Any, tab: str, home_url: str) -> str:
    """The case's unit, state and round, and the tabs of its pages (`tab` the current one)."""
    pk = case.pk
    late = (
        f'<span class="late-flag">{escape(_("locked at the deadline"))}</span>'
        if case.is_late
        else ""
    )
    round_ = ""
    if case.appraisal_round > 1:
        n = escape(localize(case.appraisal_round))
        round_ = f'<span class="tag">{_("round %(n)s") % {"n": n}}</span>'
    tabs = (
        (url_for("web:case", pk), tab == "sheet", _("Score sheet")),
        (url_for("web:appraisal", pk), tab == "appraisal", _("Appraisal and questions")),
        (url_for("web:case-documents", pk), tab == "documents", _("Documents")),
        (url_for("web:history", pk), tab == "history", _("History")),
    )
    links = "".join(
        f'    <a href="{url}"{_current(active)}>{escape(label)}</a>\n'
        for url, active, label in tabs
    )
    return (
        '<header class="case-header">\n'
        f'  <p class="muted small"><a href="{home_url}">{escape(_("Home"))}</a> › '
        f"{escape(case.cycle.title)}</p>\n"
        f'  <h1>{escape(case.unit.name)} <span class="muted small">({escape(case.unit.code)})'
        "</span></h1>\n"
        f'  <p><span class="state state-{escape(case.state)}">{escape(case.state_display)}'
        "</span>\n"
        f"    {late}\n"
        f"    {round_}</p>\n"
        f'  <nav aria-label="{escape(_("Pages of this case"))}" class="main-nav case-tabs">\n'
        f"{links}"
        "  </nav>\n"
        "</header>\n"
    )


def _day(value: Any) -> str:
    return escape(date_filter(value, "SHORT_DATE_FORMAT"))


def deadlines(case: Any, d: Any) -> str:
    """The case's deadlines, with what is left of the current one and its extensions."""
    left = ""
    if case.state == "self_scoring":
        own = d.self_assessment.left
        left = f'· <span class="deadline deadline-{escape(own.level)}">{escape(own.text)}</span>'
    extended = ""
    if d.self_extended:
        since = _("extended from %(date)s") % {"date": _day(d.self_cycle_due)}
        extended = (
            f'<br><span class="tag">{since}</span> '
            f'<span class="muted">{escape(d.self_reason)}</span>'
        )
    explanation = ""
    if d.explanation:
        answers = d.explanation
        answers_extended = (
            f'<span class="tag">{escape(_("extended"))}</span>' if d.explanation_extended else ""
        )
        explanation = (
            f"\n  <div><dt>{escape(_('Answers due'))}</dt>\n"
            f"    <dd><strong>{_day(answers.due)}</strong> · "
            f'<span class="deadline deadline-{escape(answers.left.level)}">'
            f"{escape(answers.left.text)}</span>\n"
            f"      {answers_extended}</dd></div>\n  "
        )
    return (
        '<dl class="deadlines">\n'
        f"  <div><dt>{escape(_('Self-assessment due'))}</dt>\n"
        f"    <dd><strong>{_day(d.self_assessment.due)}</strong>\n"
        f"      {left}\n"
        f"      {extended}</dd></div>\n"
        f"  {explanation}\n"
        f"  <div><dt>{escape(_('Appraisal due'))}</dt><dd>{_day(d.appraisal_due)}</dd></div>\n"
        "</dl>\n"
    )


def totals(t: Any, appraised: bool, index_final: bool = False) -> str:
    """The case's figures part by part, each beside its maximum (`appraised`: with the
    appraisal's column; `index_final`: the appraised index complete enough to show)."""

    def fig(value: Any) -> str:
        return escape(official(value))

    def th(text: str) -> str:
        return f'<th scope="row">{escape(text)}</th>'

    appraisal_head = f'<th scope="col">{escape(_("Appraisal"))}</th>' if appraised else ""
    self_part = t.self_part
    rows = [
        f'<tr>{th(_("Self-assessed part"))}<td><span id="self-part">'
        f"{fig(self_part.self_points)}</span></td>"
        + (f"<td>{fig(self_part.appraised_points)}</td>" if appraised else "")
        + f"<td>{escape(pts(self_part.max_points))}</td></tr>"
    ]
    survey = ""
    if t.survey_part.max_points:
        scored = (
            fig(t.survey_part.appraised_points)
            if t.survey_scored
            else escape(_("not imported yet"))
        )
        span = ' colspan="2"' if appraised else ""
        survey = (
            f"<tr>{th(_('Sociological survey'))}<td{span}>{scored}</td>"
            f"<td>{escape(pts(t.survey_part.max_points))}</td></tr>"
        )
    rows.append(survey)
    bonus = ""
    if t.bonus_leaves:
        bonus = (
            f'<tr>{th(_("Bonus points, penalty points"))}<td><span id="self-bonus">'
            f"+{fig(t.bonus_self)} / −{fig(t.penalty_self)}</span></td>"
            + (
                f"<td>+{fig(t.bonus_appraised)} / −{fig(t.penalty_appraised)}</td>"
                if appraised
                else ""
            )
            + "<td></td></tr>"
        )
    rows.append(bonus)
    rows.append(
        f'<tr>{th(_("Total points"))}<td><strong id="self-total">'
        f"{fig(t.self_assessed_total)}</strong></td>"
        + (f'<td><strong id="appraised-total">{fig(t.total)}</strong></td>' if appraised else "")
        + "<td>100</td></tr>"
    )
    index = ""
    if appraised:
        shown = (
            f'<strong id="index">{fig(t.index)}</strong>'
            if index_final
            else f'<span id="index" class="muted">{escape(_("after the appraisal"))}</span>'
        )
        index = f"<tr>{th(_('Index'))}<td>{fig(t.self_index)}</td><td>{shown}</td><td>100</td></tr>"
    rows.append(index)
    body = "\n    ".join(rows)
    return (
        '\n<table class="totals-table">\n'
        '  <thead><tr><th scope="col"><span class="visually-hidden">'
        f'{escape(_("Part"))}</span></th><th scope="col">{escape(_("Self-assessed"))}</th>'
        f'{appraisal_head}<th scope="col">{escape(_("Maximum"))}</th></tr></thead>\n'
        "  <tbody>\n"
        f"    {body}\n"
        "  </tbody>\n"
        "</table>\n"
    )


_PRIMARY = frozenset({"submit", "submit_explanation", "finalise"})


def _confirmation(name: str) -> str:
    """What a step asks before it is taken (app.js asks it)."""
    if name == "submit":
        text = _("Submit the self-assessment now? Scores can no longer be changed afterwards.")
    elif name == "finalise":
        text = _("Finalise the scores of this case?")
    elif name == "submit_explanation":
        text = _("Send the explanation now?")
    elif name == "request_explanation":
        text = _(
            "Send the questions to the unit now? The unit then has its answer window; the "
            "questions can no longer be changed."
        )
    elif name == "start_appraisal":
        text = _(
            "Start the appraisal of this case? The unit can no longer recall its self-assessment."
        )
    else:
        return ""
    return f' data-confirm="{escape(text)}"'


def transitions(case: Any, names: list[str], back: str, csrf: str) -> str:
    """The steps the user may take now, one form each (`csrf`: the token's hidden input)."""
    if not names:
        return "\n"
    forms = []
    for name in names:
        reason = ""
        if name == "reopen":
            reason = (
                f'\n        <div class="field"><label for="comment-{escape(name)}">'
                f"{escape(_('Reason for reopening'))}</label>\n"
                f'        <textarea id="comment-{escape(name)}" name="comment" rows="2" required>'
                "</textarea></div>\n      "
            )
        kind = "primary" if name in _PRIMARY else "secondary"
        forms.append(
            f'\n    <form method="post" action="{url_for("web:transition", case.pk, name)}"'
            f"{_confirmation(name)}>{csrf}\n"
            f'      <input type="hidden" name="back" value="{escape(back or "sheet")}">\n'
            f"      {reason}\n"
            f'      <button type="submit" class="{kind}" data-step="{escape(name)}">'
            f"{escape(labels.transition_label(name))}</button>\n"
            "    </form>\n  "
        )
    return (
        "\n"
        '<section class="card" aria-labelledby="steps">\n'
        f'  <h2 id="steps">{escape(_("Next steps"))}</h2>\n'
        '  <div class="actions">\n'
        f"  {''.join(forms)}\n"
        "  </div>\n"
        "</section>\n"
        "\n"
    )


# --- the score sheet's own parts -------------------------------------------------------------


def sheet_top(case: Any, sheet: Any, home_url: str) -> str:
    """The sheet's header and its deadlines card up to the extension form (which the
    template draws, for the secretariat alone)."""
    submitted = ""
    if case.submitted_at:
        when = escape(date_filter(timezone.localtime(case.submitted_at), "SHORT_DATETIME_FORMAT"))
        submitted = f"<p>{_('Submitted at')}: {when}</p>"
    return (
        f"\n{case_header(case, 'sheet', home_url)}\n\n"
        '<div class="sheet-head">\n'
        '  <section class="card" id="deadlines" aria-labelledby="deadline-title">\n'
        f'    <h2 id="deadline-title">{_("Deadlines")}</h2>\n'
        f"    {deadlines(case, sheet.deadlines)}\n"
        f"    {submitted}\n"
        "    "
    )


def sheet_rest(case: Any, sheet: Any, *, show_checklist: bool, csrf: str) -> str:
    """The rest of the sheet's head after the deadlines card: its totals, the council's
    questions, the submit checklist, the next steps and why the sheet is read only."""
    appraised = case.state not in ("self_scoring", "submitted")
    figures = (
        totals(sheet.totals, True, sheet.index_final) if appraised else totals(sheet.totals, False)
    )
    questions = ""
    if sheet.questions_open and case.state == "explanation":
        n = sheet.questions_open
        asks = ngettext(
            "The appraisal council asks %(n)s question. Answer it on the page “Appraisal and "
            "questions”.",
            "The appraisal council asks %(n)s questions. Answer them on the page “Appraisal and "
            "questions”.",
            n,
        ) % {"n": escape(localize(n))}
        questions = (
            f'\n<p class="message message-warning">{asks}\n'
            f'  <a href="{url_for("web:appraisal", case.pk)}">{_("Answer the questions")}</a>'
            "</p>\n"
        )
    checklist = ""
    if "submit" in sheet.transitions:
        checklist = f"\n{_checklist(case, sheet, show_checklist)}\n"
    read_only = ""
    if case.state == "self_scoring" and not sheet.can_edit:
        if sheet.deadline.passed:
            said = _("The self-assessment deadline has passed: scores can no longer change.")
            read_only = f'\n  <p class="message message-warning">{said}</p>\n  \n'
        else:
            said = _("You may read this score sheet; only the unit's staff can change it.")
            read_only = f'\n  <p class="muted">{said}</p>\n'
    return (
        "\n  </section>\n"
        '  <section class="card" aria-labelledby="totals-title">\n'
        f'    <h2 id="totals-title">{_("Totals")}</h2>\n'
        f"    {figures}\n"
        f'    <p class="totals-line"><span>{_("Self-scored")}: <strong id="self-count">'
        f"{escape(localize(sheet.scored))}/{escape(localize(sheet.to_score))}</strong></span></p>\n"
        "  </section>\n"
        "</div>\n\n"
        f"{questions}\n\n"
        f"{checklist}\n\n"
        f"{transitions(case, sheet.transitions, 'sheet', csrf)}\n\n"
        f"{read_only}"
    )


def _checklist(case: Any, sheet: Any, show_checklist: bool) -> str:
    """What still stops the submission, by criterion, each linked to its row."""
    check = sheet.checklist
    opened = " open" if show_checklist or not sheet.missing else ""
    listed = ""
    if sheet.missing:
        n = len(check)
        summary = ngettext(
            "Before submitting: %(n)s thing is missing",
            "Before submitting: %(n)s things are missing",
            n,
        ) % {"n": escape(localize(n))}
        general = "".join(f"<li>{conditional_escape(reason)}</li>" for reason in check.general)
        criteria = "".join(
            f'<li data-criterion="{escape(item.criterion.code)}"><a href="#{escape(item.anchor)}">'
            f"{escape(item.criterion.code)}. {escape(item.criterion.title)}</a>: "
            f"{' '.join(conditional_escape(reason) for reason in item.reasons)}</li>"
            for item in check.criteria
        )
        listed = f"<ul>{general}\n    {criteria}</ul>"
    else:
        summary = _("Everything needed for the submission is there.")
    signed = ""
    if case.cycle.signed_report_required:
        signed = (
            f'<p><a href="{url_for("web:case-documents", case.pk)}" id="signed-report-link">'
            f"{_('Attach the signed report')}</a></p>"
        )
    return (
        f'\n<details class="card checklist" id="checklist"{opened}>\n'
        f"  <summary>{summary}</summary>\n"
        f"  {listed}\n"
        f"  {signed}\n"
        "</details>"
    )
