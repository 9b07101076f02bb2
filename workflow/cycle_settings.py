"""A cycle's settings as the secretariat writes them in the pages or sends them to the API:
each value read and checked, every problem named beside its field, nothing half-applied.

`read` turns raw values (text from a form, JSON from the API) into the model's values; the
pages and the API call `read_sent` / `read_new` and hand the services what they read
(`SettingsRead`). Which settings a cycle still takes depends on its state, so the service
keeps that rule and the refusal of the rest. `check_together` holds the rules between
fields (deadlines in order, weights of 100).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict, cast

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cases.errors import InvalidInput
from cases.models import Cycle
from cases.scoring import fmt
from deadlines import policy
from deadlines.calendar import not_a_date, parse_day

# Every setting of a cycle that the secretariat chooses, in the order the pages show them.
SETTINGS = (
    "year",
    "run_year",
    "title",
    "authority",
    "plan_number",
    "plan_date",
    "basis_decision_number",
    "basis_decision_date",
    "self_assessment_due",
    "survey_due",
    "appraisal_due",
    "publication_target",
    "explanation_window_days",
    "self_weight",
    "survey_weight",
    "group_thresholds",
    "group_basis",
    "reminder_offsets",
    "overdue_reminder",
    "auto_start_appraisal",
    "signed_report_required",
    "explanation_may_replace_evidence",
    "reward_rule",
)
REQUIRED = ("year", "authority", "self_assessment_due", "appraisal_due")
DATES = (
    "plan_date",
    "basis_decision_date",
    "self_assessment_due",
    "survey_due",
    "appraisal_due",
    "publication_target",
)
OPTIONAL = ("run_year", "plan_date", "basis_decision_date", "survey_due", "publication_target")
TEXTS = {"title": 255, "authority": 255, "plan_number": 64, "basis_decision_number": 64}
BOOLEANS = (
    "overdue_reminder",
    "auto_start_appraisal",
    "signed_report_required",
    "explanation_may_replace_evidence",
)
WEIGHTS = ("self_weight", "survey_weight")
MAX_BANDS = 10
MAX_REWARD_TOP = 50

Problems = dict[str, list[str]]


class CycleValues(TypedDict, total=False):
    """Settings as read: the model's field names, with the values the model takes."""

    year: int
    run_year: int | None
    title: str
    authority: str
    plan_number: str
    plan_date: date | None
    basis_decision_number: str
    basis_decision_date: date | None
    self_assessment_due: date
    survey_due: date | None
    appraisal_due: date
    publication_target: date | None
    explanation_window_days: int
    self_weight: Decimal
    survey_weight: Decimal
    group_thresholds: list[dict[str, Any]]
    group_basis: str
    reminder_offsets: list[int]
    overdue_reminder: bool
    auto_start_appraisal: bool
    signed_report_required: bool
    explanation_may_replace_evidence: bool
    reward_rule: dict[str, Any]


@dataclass(frozen=True)
class SettingsRead:
    """What a form or a body says of a cycle's settings, read at the edge: the name of every
    field sent (a setting or not), the values read and the problems of those that could not
    be, by field; for a new cycle, the ids of its criteria sets. Nothing here is refused yet:
    the service, which knows whether the cycle still takes a setting, refuses the rest first.
    """

    sent: frozenset[str]
    values: CycleValues
    problems: Problems
    frameworks: tuple[int, ...] = ()

    def values_of(self, fields: Iterable[str]) -> CycleValues:
        wanted = set(fields)
        return cast(CycleValues, {k: v for k, v in self.values.items() if k in wanted})

    def problems_of(self, fields: Iterable[str]) -> Problems:
        wanted = set(fields)
        return {k: list(v) for k, v in self.problems.items() if k in wanted}


def label(field: str) -> str:
    """The field's name as the pages show it (the model's verbose name, translated)."""
    name = str(getattr(Cycle._meta.get_field(field), "verbose_name", field))
    return name[:1].upper() + name[1:]


class SettingsRefused(InvalidInput):
    """Settings refused as a whole; `by_field` places each problem beside its field ("" for
    the cycle as a whole)."""

    def __init__(self, by_field: Problems) -> None:
        self.by_field = by_field
        said = [
            f"{label(field)}: {message}" if field else message
            for field, messages in by_field.items()
            for message in messages
        ]
        super().__init__(said[0], said[1:])


def _year(raw: Any) -> int:
    try:
        year = int(str(raw).strip())
    except (TypeError, ValueError):
        raise ValueError(_("Write the year as four digits, such as 2026.")) from None
    if not 2000 <= year <= 2100:
        raise ValueError(_("The year must be between 2000 and 2100."))
    return year


def _weight(raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise ValueError(_("Write the weight as a number of points from 0 to 100."))
    try:
        value = Decimal(str(raw).strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(_("Write the weight as a number of points from 0 to 100.")) from None
    if not value.is_finite() or not 0 <= value <= 100 or value != value.quantize(Decimal("0.01")):
        raise ValueError(_("Write the weight as a number of points from 0 to 100."))
    return value


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise ValueError(_("Must be true or false."))


def _offsets(raw: Any) -> list[int]:
    """Reminder days before a deadline: a list like [7, 3, 1, 0] or the text "7, 3, 1, 0"."""
    error = ValueError(
        _(
            "Reminder days must be whole numbers of days before the deadline, from 0 (the day itself) to %(max)s, such as 7, 3, 1, 0."
        )
        % {"max": policy.MAX_OFFSET_DAYS}
    )
    if isinstance(raw, str):
        items: list[Any] = [part for part in raw.split(",") if part.strip()]
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        raise error
    days: set[int] = set()
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise error
        try:
            day = int(item)
        except ValueError:
            raise error from None
        if not 0 <= day <= policy.MAX_OFFSET_DAYS:
            raise error
        days.add(day)
    return sorted(days, reverse=True)


def _bands(raw: Any) -> list[dict[str, Any]]:
    """Group bands [{group, min, label}], highest first; the lowest starts at 0 so that every
    unit falls in one."""
    if not isinstance(raw, list | tuple) or not 1 <= len(raw) <= MAX_BANDS:
        raise ValueError(
            _("Give from 1 to %(max)s groups, each with its code, lowest points and label.")
            % {"max": MAX_BANDS}
        )
    bands: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, band in enumerate(raw, start=1):
        if not isinstance(band, Mapping):
            problems.append(
                _("Group %(n)s: give its code, lowest points and label.") % {"n": number}
            )
            continue
        code = str(band.get("group") or "").strip()
        name = str(band.get("label") or "").strip()
        try:
            low = _weight(band.get("min"))
        except ValueError:
            low = None
        if not code or len(code) > 8:
            problems.append(_("Group %(n)s: give a code of up to 8 characters.") % {"n": number})
        if low is None:
            problems.append(
                _("Group %(n)s: its lowest points must be a number from 0 to 100.") % {"n": number}
            )
        if len(name) > 64:
            problems.append(
                _("Group %(n)s: the label is longer than 64 characters.") % {"n": number}
            )
        if code and low is not None:
            bands.append({"group": code, "min": low, "label": name})
    codes = [b["group"] for b in bands]
    if len(set(codes)) != len(codes):
        problems.append(_("Two groups have the same code."))
    lows = [b["min"] for b in bands]
    if len(set(lows)) != len(lows):
        problems.append(_("Two groups start at the same points."))
    if bands and min(lows) != 0:
        problems.append(
            _("The lowest group must start at 0 points, so that every unit has a group.")
        )
    if problems:
        raise ValueError(" ".join(problems))
    bands.sort(key=lambda b: b["min"], reverse=True)
    # Stored as JSON: whole points as integers, as the default bands are written.
    return [
        {**b, "min": int(b["min"]) if b["min"] == int(b["min"]) else float(b["min"])} for b in bands
    ]


def _reward_rule(raw: Any) -> dict[str, Any]:
    """Who is proposed for emulation and rewards: {"groups": the group codes whose units
    qualify, "top": how many first places of each unit group qualify (0: none)}. The groups
    may come as a list or as the text a person types ("A" or "A, B")."""
    if not isinstance(raw, Mapping) or set(raw) - {"groups", "top"}:
        raise ValueError(
            _(
                "Give the groups whose units are proposed (for example A) and how many first "
                "places of each unit group (for example 3)."
            )
        )
    groups = raw.get("groups") or []
    if isinstance(groups, str):
        groups = groups.replace(";", ",").split(",")
    if not isinstance(groups, list | tuple) or not all(isinstance(g, str) for g in groups):
        raise ValueError(_("Give the groups as their codes, for example A or A, B."))
    codes = list(dict.fromkeys(g.strip() for g in groups if g.strip()))
    top = "" if raw.get("top") is None else str(raw["top"]).strip()
    whole = top.isascii() and top.isdigit() and not isinstance(raw.get("top"), bool | float)
    if top and not (whole and int(top) <= MAX_REWARD_TOP):
        raise ValueError(
            _("Give the first places as a whole number from 0 to %(max)s.")
            % {"max": MAX_REWARD_TOP}
        )
    return {"groups": codes, "top": int(top or 0)}


def _one(field: str, raw: Any) -> Any:
    empty = raw is None or (isinstance(raw, str) and not raw.strip())
    if empty and field in OPTIONAL:
        return None
    if empty and (field in REQUIRED or field in DATES or field in ("title", "year")):
        raise ValueError(_("This is required."))
    if field in ("year", "run_year"):
        return _year(raw)
    if field in DATES:
        parsed = parse_day(raw)
        if parsed is None:
            raise ValueError(not_a_date(raw))
        return parsed
    if field in TEXTS:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal | None):
            raise ValueError(_("Not a valid string."))
        text = "" if raw is None else str(raw).strip()
        if len(text) > TEXTS[field]:
            raise ValueError(
                _("At most %(n)s characters (this is %(len)s).")
                % {"n": TEXTS[field], "len": len(text)}
            )
        return text
    if field == "explanation_window_days":
        try:
            days = int(str(raw).strip())
        except (TypeError, ValueError):
            raise ValueError(_("Give a whole number of working days.")) from None
        if not 1 <= days <= 60:
            raise ValueError(_("Give from 1 to 60 working days."))
        return days
    if field in WEIGHTS:
        return _weight(raw)
    if field == "group_thresholds":
        return _bands(raw)
    if field == "group_basis":
        if raw not in Cycle.GroupBasis.values:
            raise ValueError(
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(Cycle.GroupBasis.values)}
            )
        return raw
    if field == "reminder_offsets":
        return _offsets(raw)
    if field in BOOLEANS:
        return _bool(raw)
    if field == "reward_rule":
        return _reward_rule(raw)
    raise KeyError(field)


def read(data: Mapping[str, Any], fields: Iterable[str]) -> tuple[dict[str, Any], Problems]:
    """The values of `fields` found in `data`, and the problems of those that are wrong."""
    values: dict[str, Any] = {}
    problems: Problems = {}
    for field in fields:
        if field not in data:
            continue
        try:
            values[field] = _one(field, data[field])
        except ValueError as error:
            problems.setdefault(field, []).append(str(error))
    return values, problems


def read_sent(data: Mapping[str, Any]) -> SettingsRead:
    """Every setting `data` holds, read; the names of all its fields are kept, so that the
    service refuses those the cycle does not take."""
    values, problems = read(data, SETTINGS)
    return SettingsRead(frozenset(data), cast(CycleValues, values), problems)


def read_new(data: Mapping[str, Any]) -> SettingsRead:
    """A new cycle's settings, and its criteria sets (`frameworks`: their ids, one per unit
    group). A blank title counts as none: the service names the cycle after its year."""
    data = dict(data)
    chosen = data.pop("frameworks", None) or []
    if not str(data.get("title") or "").strip():
        data.pop("title", None)
    read = read_sent(data)
    if isinstance(chosen, dict):
        chosen = list(chosen.values())
    if not isinstance(chosen, list | tuple) or not all(
        isinstance(i, int | str) and not isinstance(i, bool) and str(i).isdigit() for i in chosen
    ):
        problems = {
            **read.problems,
            "frameworks": [_("Give the criteria sets as a list of their ids.")],
        }
        return SettingsRead(read.sent, read.values, problems)
    return SettingsRead(read.sent, read.values, read.problems, tuple(int(i) for i in chosen))


def check_together(cycle: Cycle) -> Problems:
    """The rules between settings, on the cycle as it would be saved."""
    problems: Problems = {}

    def say(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    def day(value: Any) -> str:
        return date_format(value, "d/m/Y")

    if cycle.run_year is not None and cycle.run_year < cycle.year:
        say("run_year", _("The cycle cannot run before the year it assesses."))
    if cycle.appraisal_due <= cycle.self_assessment_due:
        say(
            "appraisal_due",
            _(
                "The appraisal deadline (%(appraisal)s) must come after the self-assessment deadline (%(self)s)."
            )
            % {"appraisal": day(cycle.appraisal_due), "self": day(cycle.self_assessment_due)},
        )
    if cycle.survey_due is not None and cycle.survey_due > cycle.appraisal_due:
        say(
            "survey_due",
            _("The survey answers are needed by the appraisal deadline (%(appraisal)s).")
            % {"appraisal": day(cycle.appraisal_due)},
        )
    if cycle.publication_target and cycle.publication_target < cycle.appraisal_due:
        say(
            "publication_target",
            _("The publication target cannot come before the appraisal deadline."),
        )
    if Decimal(cycle.self_weight) + Decimal(cycle.survey_weight) != 100:
        say(
            "survey_weight",
            _("The two weights must add up to 100 points (now %(sum)s).")
            % {"sum": fmt(Decimal(cycle.self_weight) + Decimal(cycle.survey_weight))},
        )
    codes = [str(band.get("group")) for band in cycle.group_thresholds or []]
    strangers = [g for g in (cycle.reward_rule or {}).get("groups", []) if g not in codes]
    if strangers:
        say(
            "reward_rule",
            _("%(groups)s: not a group of this cycle (its groups: %(codes)s).")
            % {"groups": ", ".join(strangers), "codes": ", ".join(codes)},
        )
    return problems


def missing(data: Collection[str]) -> Problems:
    """The required settings absent from a new cycle's data (its field names)."""
    return {f: [_("This is required.")] for f in REQUIRED if f not in data}


def unknown(data: Iterable[str], allowed: Iterable[str]) -> Problems:
    extra = sorted(set(data) - set(allowed))
    if not extra:
        return {}
    return {
        "": [_("These fields cannot be changed here: %(fields)s.") % {"fields": ", ".join(extra)}]
    }
