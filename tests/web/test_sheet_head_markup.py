"""The score sheet's head (deadlines, totals, checklist, steps) is written in Python
(web/case_parts.py) as the template drew it, byte for byte: the template text it replaced is
kept here, and both are drawn with the context of the same page."""

from __future__ import annotations

from typing import Any

from django.template import Context, Template
from django.test import Client
from django.urls import reverse

from tests.helpers import fill_self_scores, force_state

TEMPLATE_HEAD = (
    "{% load i18n par %}"
    """{% case_header "sheet" %}

<div class="sheet-head">
  <section class="card" id="deadlines" aria-labelledby="deadline-title">
    <h2 id="deadline-title">{% translate "Deadlines" %}</h2>
    {% case_deadlines sheet.deadlines %}
    {% if case.submitted_at %}<p>{% translate "Submitted at" %}: {{ case.submitted_at|date:"SHORT_DATETIME_FORMAT" }}</p>{% endif %}
    {# the extension form: the page template draws it, for the secretariat #}
  </section>
  <section class="card" aria-labelledby="totals-title">
    <h2 id="totals-title">{% translate "Totals" %}</h2>
    {% if case.state != "self_scoring" and case.state != "submitted" %}{% case_totals sheet.totals True sheet.index_final %}{% else %}{% case_totals sheet.totals False %}{% endif %}
    <p class="totals-line"><span>{% translate "Self-scored" %}: <strong id="self-count">{{ sheet.scored }}/{{ sheet.to_score }}</strong></span></p>
  </section>
</div>

{% if sheet.questions_open and case.state == "explanation" %}
<p class="message message-warning">{% blocktranslate count n=sheet.questions_open %}The appraisal council asks {{ n }} question. Answer it on the page “Appraisal and questions”.{% plural %}The appraisal council asks {{ n }} questions. Answer them on the page “Appraisal and questions”.{% endblocktranslate %}
  <a href="{% url 'web:appraisal' case.pk %}">{% translate "Answer the questions" %}</a></p>
{% endif %}

{% if "submit" in sheet.transitions %}
{% with check=sheet.checklist %}
<details class="card checklist" id="checklist"{% if show_checklist or not sheet.missing %} open{% endif %}>
  <summary>{% if sheet.missing %}{% blocktranslate count n=check|length %}Before submitting: {{ n }} thing is missing{% plural %}Before submitting: {{ n }} things are missing{% endblocktranslate %}{% else %}{% translate "Everything needed for the submission is there." %}{% endif %}</summary>
  {% if sheet.missing %}<ul>{% for reason in check.general %}<li>{{ reason }}</li>{% endfor %}
    {% for item in check.criteria %}<li data-criterion="{{ item.criterion.code }}"><a href="#{{ item.anchor }}">{{ item.criterion.code }}. {{ item.criterion.title }}</a>: {{ item.reasons|join:" " }}</li>{% endfor %}</ul>{% endif %}
  {% if case.cycle.signed_report_required %}<p><a href="{% url 'web:case-documents' case.pk %}" id="signed-report-link">{% translate "Attach the signed report" %}</a></p>{% endif %}
</details>{% endwith %}
{% endif %}

{% case_transitions sheet.transitions "sheet" %}

{% if case.state == "self_scoring" and not sheet.can_edit %}
  {% if sheet.deadline.passed %}<p class="message message-warning">{% translate "The self-assessment deadline has passed: scores can no longer change." %}</p>
  {% else %}<p class="muted">{% translate "You may read this score sheet; only the unit's staff can change it." %}</p>{% endif %}
{% endif %}"""
)


# The parts before and after the extension form, which stays in the page's template.
FORM = "{# the extension form: the page template draws it, for the secretariat #}"


def _drawn_both_ways(client: Client, url: str) -> tuple[str, str, str]:
    """The page, and the old template's parts before and after the extension form, drawn
    with the page's own context."""
    page = client.get(url)
    assert page.status_code == 200
    drawn: Any = page.context  # the contexts of the page's templates (the test client's)
    context = Context(drawn[0].flatten())
    top, rest = TEMPLATE_HEAD.split(FORM)
    load = "{% load i18n par %}"
    return (
        page.content.decode(),
        Template(top).render(context),
        Template(load + rest).render(context),
    )


def _in_order(page: str, *parts: str) -> bool:
    """Each part is in the page, one after the other."""
    at = 0
    for part in parts:
        found = page.find(part, at)
        if found < 0:
            return False
        at = found + len(part)
    return True


def test_unit_head_sees_the_head_the_template_drew(world: Any, signed_in: Any) -> None:
    fill_self_scores(world.case_a)
    url = reverse("web:case", args=[world.case_a.pk])
    for language in ("vi", "en"):
        client = signed_in(world.head_a)
        client.cookies["django_language"] = language
        page, top, rest = _drawn_both_ways(client, url)
        assert 'id="checklist"' in rest and 'data-step="submit"' in rest
        assert page.count(top + rest) == 1


def test_a_head_with_things_missing_and_the_checklist_open_is_the_same(
    world: Any, signed_in: Any
) -> None:
    url = reverse("web:case", args=[world.case_a.pk]) + "?check=submit"
    page, top, rest = _drawn_both_ways(signed_in(world.head_a), url)
    assert "<li data-criterion=" in rest
    assert page.count(top + rest) == 1


def test_secretariat_sees_the_extension_form_between_the_same_parts(
    world: Any, signed_in: Any
) -> None:
    url = reverse("web:case", args=[world.case_a.pk])
    page, top, rest = _drawn_both_ways(signed_in(world.secretariat), url)
    assert _in_order(page, top, 'id="ext-kind"', 'id="ext-reason"', rest)


def test_a_submitted_case_reads_the_same(world: Any, signed_in: Any) -> None:
    force_state(world.case_a, "submitted")
    url = reverse("web:case", args=[world.case_a.pk])
    page, top, rest = _drawn_both_ways(signed_in(world.staff_a), url)
    assert page.count(top + rest) == 1
