"""The admin cannot rewrite history: as the secretariat (staff, with its role's model
permissions), every admin change form is opened and saved with every value it offers
changed to values the form accepts; the save either writes an audit entry or changes nothing
(a form that refuses the values proves nothing, so that counts as a failure)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django import forms
from django.contrib import admin
from django.forms.models import model_to_dict
from django.test import Client

from cases.models import Cycle, default_reminder_offsets, default_reward_rule, default_thresholds
from cases.users import User
from tests.web.html import Page
from workflow.models import AuditEntry

pytestmark = pytest.mark.django_db


def _changed(value: Any) -> Any:
    """Another value of the same kind as `value`, as a form posts it."""
    if isinstance(value, bool):
        return "" if value else "on"
    if isinstance(value, datetime):
        value = value + timedelta(days=3)
        return {"0": value.date().isoformat(), "1": value.time().isoformat("seconds")}
    if isinstance(value, date):
        return (value + timedelta(days=3)).isoformat()
    if isinstance(value, int | Decimal):
        return str(value + 1)
    if value in (None, ""):
        return "1"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return f"{value} (sửa)"


def _form_data(response: Any) -> dict[str, Any]:
    """The admin form's own fields, each changed, and the page's hidden inputs (formsets)."""
    data: dict[str, Any] = {}
    for element in Page(response).all("input"):
        if element.attrs.get("type") == "hidden" and element.attrs.get("name"):
            data[element.attrs["name"]] = element.attrs.get("value", "")
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        if isinstance(field, forms.JSONField):  # kept as it is: valid JSON is enough
            data[name] = field.prepare_value(field.to_python(form[name].value()))
            continue
        if isinstance(field, forms.ModelChoiceField):  # another row that exists
            current = form[name].value()
            assert field.queryset is not None
            others = field.queryset.exclude(
                pk__in=current if isinstance(current, list) else [current]
            )
            other = others.values_list("pk", flat=True).first()
            if other is not None:
                data[name] = [other] if isinstance(field, forms.ModelMultipleChoiceField) else other
            elif current not in (None, "", []):
                data[name] = current
            continue
        value = _changed(form[name].value())
        if isinstance(value, dict):
            data |= {f"{name}_{part}": v for part, v in value.items()}
        elif value != "":
            data[name] = value
    return data


@pytest.fixture
def published(world: SimpleNamespace) -> SimpleNamespace:
    Cycle.objects.filter(pk=world.cycle.pk).update(
        status=Cycle.Status.PUBLISHED,
        decision_number="45/QĐ-UBND",
        decision_date=date(2026, 4, 20),
        decision_signer="Chủ tịch UBND tỉnh",
    )
    world.secretariat.is_staff = True
    world.secretariat.save(update_fields=["is_staff"])
    return world


def test_every_admin_change_form_saved_by_the_secretariat_is_audited_or_changes_nothing(
    published: SimpleNamespace,
) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    client.force_login(published.secretariat)
    opened, problems = [], []
    for model in admin.site._registry:
        obj = model._default_manager.order_by("pk").first()
        if obj is None:
            continue
        meta = model._meta
        url = f"/admin/{meta.app_label}/{meta.model_name}/{obj.pk}/change/"
        response = client.get(url)
        if response.status_code != 200:
            continue
        opened.append(meta.label)
        before = model_to_dict(model._default_manager.get(pk=obj.pk))
        entries = AuditEntry.objects.count()
        answer = client.post(url, _form_data(response))
        refused = answer.status_code == 200 and answer.context["adminform"].form.errors
        if refused:  # a form that takes no change must not pass by refusing this one
            problems.append(f"{meta.label} refused its changed values: {refused}")
        after = model_to_dict(model._default_manager.get(pk=obj.pk))
        if after != before and AuditEntry.objects.count() == entries:
            changed = {k: (before[k], after[k]) for k in before if before[k] != after.get(k)}
            problems.append(f"{meta.label}: {changed}")
    assert "cases.Cycle" in opened  # the secretariat's role reaches the cycles
    assert problems == []
    cycle = Cycle.objects.get(pk=published.cycle.pk)
    assert (cycle.decision_number, cycle.decision_date) == ("45/QĐ-UBND", date(2026, 4, 20))


def test_a_superuser_cannot_add_a_cycle_in_the_admin_behind_the_audit_trail(
    world: SimpleNamespace,
) -> None:
    """A cycle is created on the pages or the API, which check its settings and audit it;
    the admin's add form would do neither, so it is refused even to a superuser."""
    root = User.objects.create_superuser("root", "root@example.test", "pw-12345-xyz")
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    client.force_login(root)
    before = (Cycle.objects.count(), AuditEntry.objects.count())
    form = {  # what the add form took, valid
        "title": "Chỉ số CCHC năm 2027",
        "year": "2027",
        "authority": "UBND tỉnh",
        "self_assessment_due": "2028-01-15",
        "appraisal_due": "2028-02-28",
        "explanation_window_days": "5",
        "self_weight": "70",
        "survey_weight": "30",
        "group_thresholds": json.dumps(default_thresholds()),
        "group_basis": Cycle.GroupBasis.TOTAL,
        "explanation_may_replace_evidence": "on",
        "reward_rule": json.dumps(default_reward_rule()),
        "reminder_offsets": json.dumps(default_reminder_offsets()),
        "overdue_reminder": "on",
    }
    assert client.get("/admin/cases/cycle/add/").status_code == 403
    assert client.post("/admin/cases/cycle/add/", form).status_code == 403
    assert (Cycle.objects.count(), AuditEntry.objects.count()) == before
    listing = client.get("/admin/cases/cycle/")
    assert listing.status_code == 200  # the cycles are still listed, with no add button
    assert "/admin/cases/cycle/add/" not in listing.content.decode()
