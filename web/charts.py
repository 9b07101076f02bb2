"""Bar charts drawn on the server as inline SVG: no JavaScript, nothing inline to execute,
readable without the picture (every chart is followed by the same figures as text).

Only geometry is computed here; `web/templates/web/partials/bar_chart.html` draws it.
Labels are wrapped at word boundaries into at most `MAX_LINES` lines that fit the label
column (the browser cannot wrap SVG text), and the rows grow to hold them: a unit's or an
area's name is never cut mid-word nor drawn outside the picture.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

FONT_SIZE = 15  # user units; the stylesheet keeps the picture from shrinking below ~0.75×
# A generous average advance of a sans-serif glyph (Vietnamese letters with their marks
# included), so that a wrapped line never overflows the column it was measured for.
CHAR_WIDTH = FONT_SIZE * 0.62
LABEL_WIDTH = 250
LABEL_GAP = 8
BAR_AREA = 300
VALUE_WIDTH = 72
LINE_HEIGHT = 18
BAR_HEIGHT = 18
ROW_GAP = 10
MARK_ROOM = 22  # above the bars: the threshold values over their lines
MAX_LINES = 4


def wrap_label(label: str, *, width: int = LABEL_WIDTH - LABEL_GAP) -> list[str]:
    """The label in lines that fit `width`, broken between words; what does not fit in
    `MAX_LINES` lines ends with "…" after the last whole word."""
    chars = max(int(width // CHAR_WIDTH), 8)
    lines = textwrap.wrap(label, width=chars, break_long_words=False, break_on_hyphens=False)
    if len(lines) <= MAX_LINES:
        return lines or [""]
    kept = lines[:MAX_LINES]
    last = kept[-1]
    while len(last) + 1 > chars and " " in last:
        last = last.rsplit(" ", 1)[0]
    kept[-1] = last.rstrip(",;:–-. ") + "…"
    return kept


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    y: int  # top of the bar
    width: int
    lines: list[str]
    line_ys: list[int]
    css: str = ""

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 4

    @property
    def value_x(self) -> int:
        return LABEL_WIDTH + self.width + 6

    @property
    def label_lines(self) -> list[tuple[int, str]]:
        return list(zip(self.line_ys, self.lines, strict=True))


@dataclass(frozen=True)
class Mark:
    """A guide line across the bars (e.g. where a group starts) and the value it stands at."""

    x: int
    value: Decimal


@dataclass(frozen=True)
class LegendItem:
    """One entry under the chart: a swatch drawn with `css` and what it means."""

    css: str
    text: str


@dataclass(frozen=True)
class BarChart:
    title: str
    unit: str
    bars: list[Bar]
    maximum: Decimal
    marks: list[Mark]
    height: int
    description: str = ""
    legend: list[LegendItem] = field(default_factory=list)

    label_width: int = LABEL_WIDTH
    label_x: int = LABEL_WIDTH - LABEL_GAP
    bar_height: int = BAR_HEIGHT
    font_size: int = FONT_SIZE
    marks_top: int = MARK_ROOM

    @property
    def width(self) -> int:
        return LABEL_WIDTH + BAR_AREA + VALUE_WIDTH


def bar_chart(
    items: Sequence[tuple[str, Decimal]],
    *,
    title: str,
    unit: str = "",
    maximum: Decimal | None = None,
    classes: Sequence[str] | None = None,
    marks: Sequence[Decimal] = (),
    description: str = "",
    legend: Sequence[LegendItem] = (),
) -> BarChart:
    """Horizontal bars scaled to `maximum` (the largest value when not given).

    `classes` gives each bar a CSS class (e.g. its A/B/C/D group); `marks` draws vertical
    guide lines (e.g. the group thresholds) at those values, with the value written above
    each; `legend` says under the chart what the colours and the lines mean.
    """
    top = maximum if maximum is not None else max((v for _l, v in items), default=Decimal(0))
    top = top or Decimal(1)
    shown_marks = [m for m in marks if 0 < m <= top]
    y = MARK_ROOM if shown_marks else 4
    bars = []
    for i, (label, value) in enumerate(items):
        lines = wrap_label(label)
        row = max(len(lines) * LINE_HEIGHT, BAR_HEIGHT)
        first_baseline = y + (row - len(lines) * LINE_HEIGHT) // 2 + LINE_HEIGHT - 4
        bars.append(
            Bar(
                label=label,
                value=value,
                y=y + (row - BAR_HEIGHT) // 2,
                width=int(BAR_AREA * max(Decimal(0), min(value, top)) / top),
                lines=lines,
                line_ys=[first_baseline + n * LINE_HEIGHT for n in range(len(lines))],
                css=(classes[i] if classes else ""),
            )
        )
        y += row + ROW_GAP
    height = max(y - ROW_GAP + 4, MARK_ROOM + BAR_HEIGHT + 4)
    guides = [Mark(LABEL_WIDTH + int(BAR_AREA * m / top), m) for m in shown_marks]
    return BarChart(
        title=title,
        unit=unit,
        bars=bars,
        maximum=top,
        marks=guides,
        height=height,
        description=description,
        legend=list(legend),
    )
