"""Scoring methods: pure functions from a criterion's settings to points.

Every method accepts points typed directly (checked against what the method can give) and,
where the method computes points from a declared figure, that figure:

| method               | declared figure (`value`)          | points                               |
| -------------------- | ---------------------------------- | ------------------------------------ |
| manual               | —                                  | any 0 … max                          |
| yes_no               | 1 (yes) or 0 (no)                  | max or 0                             |
| graded               | the level's number (0, 1, 2 …)     | that level's points                  |
| percentage_threshold | a rate in % (0 … 100)              | points of the highest band reached   |
| deduction            | number of violations               | max − n × per_violation, floor 0     |
| bonus / penalty      | number of occurrences              | n × points_each, capped at max       |
| survey               | —                                  | imported, never self-scored          |
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from cases.errors import InvalidInput
from cases.models import Criterion, Method

CENT = Decimal("0.01")

# A number as a user typed it in a form ("7,5" with the decimal comma) or sent it in JSON:
# what the rules below read, refusing anything else in words that name the criterion.
TypedNumber = str | int | float | Decimal


def fmt(value: Decimal | int | float) -> str:
    """A number as a civil servant reads it (decimal comma in Vietnamese)."""
    return number_format(Decimal(value).normalize() if Decimal(value) % 1 else int(value))


def to_decimal(raw: Any, criterion: Criterion, field: str) -> Decimal:
    """Parse a number sent by a user; refuse booleans, text and non-finite values."""
    if isinstance(raw, bool) or raw is None or raw == "":
        raise InvalidInput(
            _("Criterion %(code)s: %(field)s must be a number.")
            % {"code": criterion.code, "field": field}
        )
    text = str(raw).strip().replace(",", ".") if isinstance(raw, str) else raw
    try:
        number = Decimal(str(text))
    except (InvalidOperation, ValueError):
        raise InvalidInput(
            _("Criterion %(code)s: %(field)s must be a number, not “%(raw)s”.")
            % {"code": criterion.code, "field": field, "raw": raw}
        ) from None
    if not number.is_finite():
        raise InvalidInput(
            _("Criterion %(code)s: %(field)s must be a number.")
            % {"code": criterion.code, "field": field}
        )
    return number


def allowed_points(criterion: Criterion) -> list[Decimal] | None:
    """The only point values a method can give, or None when any value in range is fine."""
    cfg = criterion.config or {}
    if criterion.method == Method.YES_NO:
        return [Decimal(0), criterion.max_points]
    if criterion.method == Method.GRADED:
        return sorted({Decimal(str(level["points"])) for level in cfg.get("levels", [])})
    if criterion.method == Method.PERCENTAGE:
        return sorted({Decimal(str(band["points"])) for band in cfg.get("thresholds", [])})
    if criterion.method == Method.DEDUCTION and cfg.get("per_violation"):
        step = Decimal(str(cfg["per_violation"]))
        values = {Decimal(0)}
        current = criterion.max_points
        while current > 0:
            values.add(current)
            current -= step
        return sorted(values)
    return None


def points_from_value(criterion: Criterion, value: Decimal) -> Decimal:
    """Compute the points a declared figure earns under the criterion's method."""
    cfg = criterion.config or {}
    method = criterion.method
    if value < 0:
        raise InvalidInput(
            _("Criterion %(code)s: the declared figure cannot be negative.")
            % {"code": criterion.code}
        )
    if method == Method.YES_NO:
        if value not in (0, 1):
            raise InvalidInput(
                _("Criterion %(code)s: answer 1 (yes) or 0 (no).") % {"code": criterion.code}
            )
        return criterion.max_points if value == 1 else Decimal(0)
    if method == Method.GRADED:
        levels = cfg.get("levels", [])
        if value != value.to_integral_value() or int(value) >= len(levels):
            raise InvalidInput(
                _("Criterion %(code)s: choose a level from 0 to %(last)s.")
                % {"code": criterion.code, "last": len(levels) - 1}
            )
        return Decimal(str(levels[int(value)]["points"]))
    if method == Method.PERCENTAGE:
        if value > 100:
            raise InvalidInput(
                _("Criterion %(code)s: a rate cannot be above 100%%.") % {"code": criterion.code}
            )
        reached = [
            Decimal(str(band["points"]))
            for band in cfg.get("thresholds", [])
            if value >= Decimal(str(band["min"]))
        ]
        return max(reached, default=Decimal(0))
    if method in (Method.DEDUCTION, Method.BONUS, Method.PENALTY):
        if value != value.to_integral_value():
            raise InvalidInput(
                _("Criterion %(code)s: the number of cases must be a whole number.")
                % {"code": criterion.code}
            )
        if method == Method.DEDUCTION:
            step = Decimal(str(cfg.get("per_violation", 0)))
            return max(Decimal(0), criterion.max_points - value * step)
        each = Decimal(str(cfg.get("points_each", 0)))
        return min(criterion.max_points, value * each)
    raise InvalidInput(
        _("Criterion %(code)s is scored by typing the points, not a figure.")
        % {"code": criterion.code}
    )


# The setting that makes a penalty item the late-submission deduction: its figure is the
# case's working days late, computed from the dates (`Criterion.config["counts"]`).
LATE_WORKING_DAYS = "late_working_days"

# The rule's own words for it ("0,5 điểm/ngày làm việc trễ", "… ngày làm việc chậm", or in
# English): how a YAML set that does not give the setting is read (`says_working_days_late`).
_LATE_DAYS = re.compile(r"ngày\s+làm\s+việc\s+(trễ|chậm)|working\s+days?\s+late", re.IGNORECASE)


def says_working_days_late(rule: str) -> bool:
    return bool(_LATE_DAYS.search(rule or ""))


def counts_working_days_late(criterion: Criterion) -> bool:
    """A penalty whose figure is the case's working days late: computed from the dates and
    proposed to the appraiser, never typed. Said by the set's explicit setting
    (`Criterion.config["counts"]`: the YAML key `counts: late_working_days`, the workbook's
    settings "0,5/ngày làm việc trễ"); a criterion stored before the setting existed is
    read by its rule's words."""
    if criterion.method != Method.PENALTY:
        return False
    cfg = criterion.config or {}
    if "counts" in cfg:
        return cfg["counts"] == LATE_WORKING_DAYS
    return says_working_days_late(str(cfg.get("rule", "")))


def appraisal_needs_reason(
    points: Decimal | None, self_score: Decimal | None, proposed: Decimal | None = None
) -> bool:
    """An appraised score other than the unit's own, or than what the dates propose (a
    penalty per working day late), is given with its reason."""
    return points != self_score and (proposed is None or points != proposed)


def check_points(criterion: Criterion, points: Decimal) -> Decimal:
    """Refuse points outside 0 … max, or that the method cannot give; return them rounded."""
    code = criterion.code
    if points < 0:
        raise InvalidInput(_("Criterion %(code)s: the score cannot be below 0.") % {"code": code})
    if points > criterion.max_points:
        raise InvalidInput(
            _("Criterion %(code)s: the score %(score)s is above the maximum of %(max)s points.")
            % {"code": code, "score": fmt(points), "max": fmt(criterion.max_points)}
        )
    if points != points.quantize(CENT, rounding=ROUND_HALF_UP):
        raise InvalidInput(
            _("Criterion %(code)s: use at most two decimal places.") % {"code": code}
        )
    allowed = allowed_points(criterion)
    if allowed is not None and points not in allowed:
        raise InvalidInput(
            _("Criterion %(code)s: the method allows only %(allowed)s points.")
            % {"code": code, "allowed": "; ".join(fmt(p) for p in allowed)}
        )
    return points.quantize(CENT)


def resolve_self_score(
    criterion: Criterion, *, points: TypedNumber | None = None, value: TypedNumber | None = None
) -> tuple[Decimal, Decimal | None]:
    """The (points, declared figure) a unit's input stands for, or InvalidInput."""
    if criterion.method == Method.SURVEY:
        raise InvalidInput(
            _("Criterion %(code)s is scored by the survey and cannot be self-scored.")
            % {"code": criterion.code}
        )
    declared = None
    if value is not None:
        declared = to_decimal(value, criterion, _("the declared figure"))
        computed = points_from_value(criterion, declared)
        if points is not None and to_decimal(points, criterion, _("the score")) != computed:
            raise InvalidInput(
                _(
                    "Criterion %(code)s: the figure %(value)s gives %(computed)s points, not %(points)s."
                )
                % {
                    "code": criterion.code,
                    "value": fmt(declared),
                    "computed": fmt(computed),
                    "points": points,
                }
            )
        return check_points(criterion, computed), declared
    if points is None:
        raise InvalidInput(_("Criterion %(code)s: enter a score.") % {"code": criterion.code})
    return check_points(criterion, to_decimal(points, criterion, _("the score"))), declared
