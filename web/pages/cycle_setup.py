"""The secretariat's cycle form: a new cycle, or the settings of one, with the criteria set
of each unit group and what still stops the cycle from opening.

Read model and form plumbing only: values go as typed to `workflow.cycle_services`
(`create_cycle`, `update_cycle`, `bind_framework`, `open_cycle`), which read, check and
audit them; its refusal names each field, and the page shows the words beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.http import QueryDict
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cases.models import Cycle, Framework, UnitGroup, default_thresholds
from results.ranking import group_labels
from workflow import cycle_services, cycle_settings

# How each setting is typed in the form.
KINDS = {
    "year": "number",
    "run_year": "number",
    "title": "text",
    "authority": "text",
    "plan_number": "text",
    "plan_date": "date",
    "basis_decision_number": "text",
    "basis_decision_date": "date",
    "self_assessment_due": "date",
    "survey_due": "date",
    "appraisal_due": "date",
    "publication_target": "date",
    "explanation_window_days": "number",
    "self_weight": "number",
    "survey_weight": "number",
    "group_basis": "choice",
    "reminder_offsets": "text",
    "overdue_reminder": "check",
    "auto_start_appraisal": "check",
    "signed_report_required": "check",
    "explanation_may_replace_evidence": "check",
    # The reward rule (one setting, `reward_rule`) is typed in two boxes.
    "reward_groups": "text",
    "reward_top": "number",
}
REWARD_PARTS = {"reward_groups": "groups", "reward_top": "top"}
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "basis",
        (
            "year",
            "run_year",
            "title",
            "authority",
            "plan_number",
            "plan_date",
            "basis_decision_number",
            "basis_decision_date",
        ),
    ),
    ("deadlines", ("self_assessment_due", "survey_due", "appraisal_due", "publication_target")),
    (
        "settings",
        (
            "explanation_window_days",
            "self_weight",
            "survey_weight",
            "group_basis",
            "reminder_offsets",
            "overdue_reminder",
            "auto_start_appraisal",
            "signed_report_required",
            "explanation_may_replace_evidence",
        ),
    ),
    ("rewards", ("reward_groups", "reward_top")),
)
BAND_ROWS = 6


@dataclass
class Input:
    name: str
    label: str
    kind: str
    value: str
    errors: list[str]
    editable: bool
    choices: list[tuple[str, str]] = field(default_factory=list)

    @property
    def checked(self) -> bool:
        return self.value == "true"


@dataclass
class SetChoice:
    group: UnitGroup
    options: list[tuple[int, str]]
    chosen: Framework | None
    errors: list[str] = field(default_factory=list)


@dataclass
class CycleForm:
    cycle: Cycle | None
    sections: list[tuple[str, str, list[Input]]]
    bands: list[dict[str, str]]
    band_errors: list[str]
    sets: list[SetChoice]
    errors: list[str]
    opening: list[str]
    confirm_errors: list[str] = field(default_factory=list)  # beside the lock confirmation

    @property
    def is_draft(self) -> bool:
        return self.cycle is None or self.cycle.status == Cycle.Status.DRAFT


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return date_format(value, "d/m/Y")
    if isinstance(value, Decimal):
        return str(value.normalize() if value % 1 else int(value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _values(cycle: Cycle) -> dict[str, Any]:
    """The cycle's value of each box of the form."""
    rule = cycle.reward_rule or {}
    return {
        name: rule.get(REWARD_PARTS[name]) if name in REWARD_PARTS else getattr(cycle, name)
        for name in KINDS
    }


def _setting(name: str) -> str:
    """The setting a box of the form belongs to."""
    return "reward_rule" if name in REWARD_PARTS else name


def _label(name: str) -> str:
    if name == "reward_groups":
        return _("Groups whose units are proposed for rewards (for example A)")
    if name == "reward_top":
        return _("First places of each unit group proposed for rewards (0: none)")
    return cycle_settings.label(name)


def section_title(key: str) -> str:
    return {
        "basis": _("Years and legal basis"),
        "deadlines": _("Deadlines"),
        "settings": _("Weights, groups and reminders"),
        "rewards": _("Emulation and rewards"),
    }[key]


def build(
    cycle: Cycle | None,
    posted: QueryDict | None = None,
    problems: dict[str, list[str]] | None = None,
) -> CycleForm:
    problems = problems or {}
    source = _values(cycle if cycle is not None else Cycle())  # a new one: the defaults
    editable = set(
        cycle_settings.SETTINGS
        if cycle is None or cycle.status == Cycle.Status.DRAFT
        else cycle_services.EDITABLE_CYCLE_FIELDS
    )
    sections = []
    for key, names in SECTIONS:
        inputs = []
        for name in names:
            if posted is not None and _setting(name) in editable:
                value = (
                    ("true" if posted.get(name) else "false")
                    if KINDS[name] == "check"
                    else posted.get(name, "")
                )
            else:
                value = _text(source[name])
            choices = Cycle.GroupBasis.choices if name == "group_basis" else []
            inputs.append(
                Input(
                    name=name,
                    label=_label(name),
                    kind=KINDS[name],
                    value=value,
                    errors=problems.get("reward_rule" if name == "reward_groups" else name, []),
                    editable=_setting(name) in editable,
                    choices=[(str(v), str(lbl)) for v, lbl in choices],
                )
            )
        sections.append((key, section_title(key), inputs))
    bands_source = cycle.group_thresholds if cycle is not None else default_thresholds()
    band_names = group_labels()
    # An open cycle's bands are shown, not sent (their inputs are disabled): after a refused
    # save they are the cycle's own, not the empty rows of the request.
    if posted is not None and "group_thresholds" in editable:
        bands = [
            {k: posted.get(f"band_{k}_{i}", "") for k in ("group", "min", "label")}
            for i in range(BAND_ROWS)
        ]
    else:
        bands = [
            {
                "group": str(b.get("group", "")),
                "min": _text(b.get("min")),
                "label": str(b.get("label") or band_names.get(str(b.get("group")), "")),
            }
            for b in bands_source
        ]
        bands += [{"group": "", "min": "", "label": ""}] * (BAND_ROWS - len(bands))
    return CycleForm(
        cycle=cycle,
        sections=sections,
        bands=bands,
        band_errors=problems.get("group_thresholds", []),
        sets=_sets(cycle, posted, problems.get("frameworks", [])),
        errors=problems.get("", []),
        confirm_errors=problems.get("confirm_lock", []),
        opening=cycle_services.opening_problems(cycle)
        if cycle is not None and cycle.status == Cycle.Status.DRAFT
        else [],
    )


def _sets(cycle: Cycle | None, posted: QueryDict | None, errors: list[str]) -> list[SetChoice]:
    """Each unit group with the sets it may use: every version the secretariat keeps."""
    frameworks = list(
        Framework.objects.select_related("cycle").order_by("unit_group_id", "-created_at", "-pk")
    )
    chosen = {
        f.unit_group_id: f for f in frameworks if cycle is not None and f.cycle_id == cycle.pk
    }
    rows = []
    for group in UnitGroup.objects.order_by("code"):
        options = [(f.pk, framework_label(f)) for f in frameworks if f.unit_group_id == group.pk]
        rows.append(SetChoice(group=group, options=options, chosen=chosen.get(group.pk)))
    if rows:
        rows[0].errors = errors
    return rows


def framework_label(framework: Framework) -> str:
    bound = framework.cycle
    where = (
        _("used by %(cycle)s: a copy is made") % {"cycle": bound.title}
        if bound is not None
        else _("not used by a cycle yet")
    )
    return _("%(title)s, version %(version)s (%(where)s)") % {
        "title": framework.title,
        "version": framework.version,
        "where": where,
    }


def posted_settings(posted: QueryDict, fields: tuple[str, ...] | set[str]) -> dict[str, Any]:
    """What the form sent, as the service reads it: text as typed, boxes as true/false, the
    group rows as a list (blank rows left out)."""
    data: dict[str, Any] = {}
    for name in KINDS:
        if name in REWARD_PARTS or name not in fields:
            continue
        if KINDS[name] == "check":
            data[name] = "true" if posted.get(name) else "false"
        elif name in posted:
            data[name] = posted.get(name, "")
    if "reward_rule" in fields and any(name in posted for name in REWARD_PARTS):
        data["reward_rule"] = {part: posted.get(name, "") for name, part in REWARD_PARTS.items()}
    if "group_thresholds" in fields and any(f"band_group_{i}" in posted for i in range(BAND_ROWS)):
        data["group_thresholds"] = [
            {k: posted.get(f"band_{k}_{i}", "").strip() for k in ("group", "min", "label")}
            for i in range(BAND_ROWS)
            if any(posted.get(f"band_{k}_{i}", "").strip() for k in ("group", "min", "label"))
        ]
    return data
