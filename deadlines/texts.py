"""What the deadline notifications say, in Vietnamese and English.

Notifications store both texts (`notify(text_vi=, text_en=)`), so each message is rendered
twice, once in each language; the msgids are English.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import date
from functools import lru_cache

from django.conf import settings
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as django_gettext
from django.utils.translation import ngettext as django_ngettext
from django.utils.translation import trans_real

Texts = tuple[str, str]
LANGUAGES = ("vi", "en")


def bilingual(render: Callable[[], str]) -> Texts:
    """Any text in both languages, with Django's language switched (lazy msgids, other
    modules' gettext)."""
    with translation.override("vi"):
        vi = str(render())
    with translation.override("en"):
        en = str(render())
    return vi, en


# The catalogue the texts of this module are rendered with while `_bilingual` renders them
# (unset: Django's active language). A sweep renders some two thousand texts: switching
# Django's language twice for each, and reading it back for every msgid, took most of it.
_rendering = threading.local()


def _bilingual(render: Callable[[], str]) -> Texts:
    """A text of this module in both languages: its msgids read from each catalogue
    directly, the language Django has active left alone (what `bilingual` gives)."""
    if not settings.USE_I18N:
        return bilingual(render)
    before = getattr(_rendering, "language", None)
    try:
        texts = []
        for language in LANGUAGES:
            _rendering.language = language
            texts.append(str(render()))
    finally:
        _rendering.language = before
    return texts[0], texts[1]


def _(message: str) -> str:
    """gettext, from the catalogue `_bilingual` renders with, if it is rendering."""
    language = getattr(_rendering, "language", None)
    if language is None:
        return django_gettext(message)
    return str(trans_real.translation(language).gettext(message))


def ngettext(singular: str, plural: str, number: int) -> str:
    language = getattr(_rendering, "language", None)
    if language is None:
        return django_ngettext(singular, plural, number)
    return str(trans_real.translation(language).ngettext(singular, plural, number))


def day(value: date) -> str:
    language = getattr(_rendering, "language", None)
    return _day(value, language or translation.get_language())


@lru_cache(maxsize=1024)
def _day(value: date, language: str | None) -> str:
    """Written once per date and language: a sweep names the same few deadlines in
    thousands of reminders, and Django's date formatting is slow (bench/sweep.py)."""
    if language is None:
        return date_format(value, "d/m/Y")
    with translation.override(language):
        return date_format(value, "d/m/Y")


def _days_left(days: int) -> str:
    if days <= 0:
        return _("today is the last day")
    return ngettext("%(n)d day left", "%(n)d days left", days) % {"n": days}


def self_assessment_reminder(unit: str, due: date, days_left: int) -> Texts:
    return _bilingual(
        lambda: (
            _(
                "Reminder: the self-assessment of %(unit)s must be submitted by the end of %(date)s (%(left)s)."
            )
            % {"unit": unit, "date": day(due), "left": _days_left(days_left)}
        )
    )


def overdue_reminder(unit: str, due: date) -> Texts:
    return _bilingual(
        lambda: (
            _(
                "The self-assessment of %(unit)s was not submitted by the deadline %(date)s. "
                "It is recorded as late with the scores entered so far; ask the secretariat if an extension is needed."
            )
            % {"unit": unit, "date": day(due)}
        )
    )


def explanation_reminder(unit: str, due: date, questions: int, days_left: int) -> Texts:
    return _bilingual(
        lambda: (
            ngettext(
                "Reminder: %(unit)s has %(n)d clarification question to answer by the end of %(date)s (%(left)s).",
                "Reminder: %(unit)s has %(n)d clarification questions to answer by the end of %(date)s (%(left)s).",
                questions,
            )
            % {"unit": unit, "n": questions, "date": day(due), "left": _days_left(days_left)}
        )
    )


def appraisal_reminder(cycle: str, due: date, criteria: int, cases: int, days_left: int) -> Texts:
    return _bilingual(
        lambda: (
            _(
                "Reminder: in %(cycle)s, %(criteria)s in your areas are not appraised yet "
                "(%(cases)s); the appraisal deadline is %(date)s (%(left)s)."
            )
            % {
                "cycle": cycle,
                "criteria": ngettext("%(n)d criterion", "%(n)d criteria", criteria)
                % {"n": criteria},
                "cases": ngettext("%(n)d case", "%(n)d cases", cases) % {"n": cases},
                "date": day(due),
                "left": _days_left(days_left),
            }
        )
    )


def late_summary(cycle: str, due: date, units: Sequence[str]) -> Texts:
    shown = ", ".join(units[:30])

    def render() -> str:
        text = ngettext(
            "%(cycle)s: %(n)d unit did not submit its self-assessment by %(date)s: %(units)s",
            "%(cycle)s: %(n)d units did not submit their self-assessment by %(date)s: %(units)s",
            len(units),
        ) % {"cycle": cycle, "n": len(units), "date": day(due), "units": shown}
        if len(units) > 30:
            text += " " + _("and %(n)d more.") % {"n": len(units) - 30}
        return text

    return _bilingual(render)


def _finalised(finalised: int, cases: int) -> str:
    return ngettext(
        "%(done)d of %(n)d case finalised", "%(done)d of %(n)d cases finalised", cases
    ) % {"done": finalised, "n": cases}


def report_reminder(cycle: str, due: date, finalised: int, cases: int, days_left: int) -> Texts:
    return _bilingual(
        lambda: (
            _(
                "Reminder: the appraisal report of %(cycle)s goes to the Chair of the appraisal "
                "council by the end of %(date)s (%(left)s); %(done)s."
            )
            % {
                "cycle": cycle,
                "date": day(due),
                "left": _days_left(days_left),
                "done": _finalised(finalised, cases),
            }
        )
    )


def report_overdue(cycle: str, due: date, finalised: int, cases: int) -> Texts:
    return _bilingual(
        lambda: (
            _(
                "Overdue: the appraisal report of %(cycle)s was due by %(date)s and the results "
                "have not been sent for approval; %(done)s."
            )
            % {"cycle": cycle, "date": day(due), "done": _finalised(finalised, cases)}
        )
    )


def publication_reminder(cycle: str, due: date, days_left: int) -> Texts:
    return _bilingual(
        lambda: (
            _("Reminder: the results of %(cycle)s are to be published by %(date)s (%(left)s).")
            % {"cycle": cycle, "date": day(due), "left": _days_left(days_left)}
        )
    )


def publication_overdue(cycle: str, due: date) -> Texts:
    return _bilingual(
        lambda: (
            _("Overdue: the results of %(cycle)s were to be published by %(date)s.")
            % {"cycle": cycle, "date": day(due)}
        )
    )


def _without_survey(missing: int, cases: int) -> str:
    return ngettext(
        "%(missing)d of %(n)d unit still without survey scores",
        "%(missing)d of %(n)d units still without survey scores",
        cases,
    ) % {"missing": missing, "n": cases}


def survey_reminder(cycle: str, due: date, missing: int, cases: int, days_left: int) -> Texts:
    return _bilingual(
        lambda: (
            _(
                "Reminder: the survey scores of %(cycle)s are to be imported by the end of "
                "%(date)s (%(left)s); %(missing)s."
            )
            % {
                "cycle": cycle,
                "date": day(due),
                "left": _days_left(days_left),
                "missing": _without_survey(missing, cases),
            }
        )
    )


def survey_overdue(cycle: str, due: date, missing: int, cases: int) -> Texts:
    return _bilingual(
        lambda: (
            _("Overdue: the survey scores of %(cycle)s were due by %(date)s; %(missing)s.")
            % {"cycle": cycle, "date": day(due), "missing": _without_survey(missing, cases)}
        )
    )
