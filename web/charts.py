"""Bar charts drawn on the server as inline SVG: no JavaScript, nothing inline to execute,
readable without the picture (every chart is followed by the same figures as text).

Only geometry is computed here; `web/templates/web/partials/bar_chart.html` draws it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

LABEL_WIDTH = 260
BAR_AREA = 420
VALUE_WIDTH = 70
ROW_HEIGHT = 26
BAR_HEIGHT = 18


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    y: int
    width: int
    css: str = ""

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 4

    @property
    def value_x(self) -> int:
        return LABEL_WIDTH + self.width + 6


@dataclass(frozen=True)
class BarChart:
    title: str
    unit: str
    bars: list[Bar]
    maximum: Decimal
    marks: list[tuple[int, Decimal]]

    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def width(self) -> int:
        return LABEL_WIDTH + BAR_AREA + VALUE_WIDTH

    @property
    def height(self) -> int:
        return max(len(self.bars), 1) * ROW_HEIGHT + 8


def bar_chart(
    items: Sequence[tuple[str, Decimal]],
    *,
    title: str,
    unit: str = "",
    maximum: Decimal | None = None,
    classes: Sequence[str] | None = None,
    marks: Sequence[Decimal] = (),
) -> BarChart:
    """Horizontal bars scaled to `maximum` (the largest value when not given).

    `classes` gives each bar a CSS class (e.g. its A/B/C/D group); `marks` draws vertical
    guide lines (e.g. the group thresholds) at those values.
    """
    top = maximum if maximum is not None else max((v for _l, v in items), default=Decimal(0))
    top = top or Decimal(1)
    bars = [
        Bar(
            label=label,
            value=value,
            y=i * ROW_HEIGHT + 4,
            width=int(BAR_AREA * max(Decimal(0), min(value, top)) / top),
            css=(classes[i] if classes else ""),
        )
        for i, (label, value) in enumerate(items)
    ]
    lines = [(LABEL_WIDTH + int(BAR_AREA * m / top), m) for m in marks if 0 < m <= top]
    return BarChart(title=title, unit=unit, bars=bars, maximum=top, marks=lines)
