"""The results charts as a reader sees them in Chromium, on a desk and on a phone: every label
inside the picture and big enough to read, a long name wrapped between words, and a legend that
names the groups with the cycle's own thresholds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page

from cases.models import Cycle, Unit
from tests.web.test_results_pages import _published
from web.charts import MAX_LINES, wrap_label

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LONG_NAME = "Ủy ban nhân dân xã Tân Phước Hưng thuộc huyện Phụng Hiệp tỉnh Hậu Giang"
# Not the usual 90/70/50: the legend and the lines must come from the cycle.
THRESHOLDS = [
    {"group": "A", "min": 85},
    {"group": "B", "min": 65},
    {"group": "C", "min": 45},
    {"group": "D", "min": 0},
]

# Each text of an SVG chart: its box in the picture's own units and its size on the screen.
MEASURE = """svg => {
  const box = svg.viewBox.baseVal;
  const scale = svg.getBoundingClientRect().width / box.width;
  return {
    width: box.width, height: box.height,
    texts: Array.from(svg.querySelectorAll('text')).map(t => {
      const b = t.getBBox();
      return {text: t.textContent, x: b.x, y: b.y, right: b.x + b.width, bottom: b.y + b.height,
              lines: Array.from(t.querySelectorAll('tspan')).map(s => s.textContent),
              px: parseFloat(getComputedStyle(t).fontSize) * scale};
    }),
  };
}"""


def test_a_long_label_wraps_between_words_and_what_does_not_fit_ends_after_a_word() -> None:
    lines = wrap_label(LONG_NAME)
    assert " ".join(lines) == LONG_NAME
    assert 1 < len(lines) <= MAX_LINES
    too_long = " ".join([LONG_NAME] * 3)
    cut = wrap_label(too_long)
    assert len(cut) == MAX_LINES and cut[-1].endswith("…")
    words = " ".join(cut)[:-1].split()
    assert words == too_long.split()[: len(words)]  # whole words only


def _published_with_a_long_name(world: Any) -> None:
    """Test set-up shortcut: STP (renamed with a long name) at full points, STC at zero,
    published under the thresholds above."""
    Unit.objects.filter(pk=world.case_a.unit_id).update(name=LONG_NAME)
    Cycle.objects.filter(pk=world.cycle.pk).update(group_thresholds=THRESHOLDS)
    _published(world)


def _charts(page: Page) -> list[dict[str, Any]]:
    svgs = page.locator("svg.chart")
    assert svgs.count() > 0
    return [svgs.nth(i).evaluate(MEASURE) for i in range(svgs.count())]


def _assert_readable(chart: dict[str, Any], where: str) -> None:
    for t in chart["texts"]:
        inside = t["x"] >= 0 and t["y"] >= 0 and t["right"] <= chart["width"]
        assert inside and t["bottom"] <= chart["height"], f"{where}: {t['text']!r} clipped"
        assert t["px"] >= 10, f"{where}: {t['text']!r} drawn at {t['px']:.1f} px"


@pytest.mark.browser
@pytest.mark.usefixtures("close_pages")
def test_chart_labels_fit_are_readable_on_a_phone_and_the_legend_names_the_groups(
    world: Any, live_server: Any, browser: Browser
) -> None:
    _published_with_a_long_name(world)
    results = live_server.url + reverse("web:results", args=[world.cycle.pk])
    areas = live_server.url + reverse("web:result-unit", args=[world.cycle.pk, "STP"])
    for name, viewport in (("desk", (1280, 900)), ("phone", (375, 800))):
        width, height = viewport
        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
        page.goto(results)
        charts = _charts(page)
        for chart in charts:
            _assert_readable(chart, f"results ({name})")
        labels = [t["lines"] for c in charts for t in c["texts"] if t["lines"]]
        assert ["1.", *LONG_NAME.split()] == " ".join(labels[0]).split()  # wrapped, not cut
        assert len(labels[0]) > 1
        marks = {t["text"] for c in charts for t in c["texts"] if not t["lines"]}
        assert {"85", "65", "45"} <= marks
        legend = page.locator(".chart-legend").first.inner_text()
        for band in (
            "Nhóm A (tốt): từ 85 trở lên",
            "Nhóm B (khá): từ 65 đến dưới 85",
            "Nhóm C (trung bình): từ 45 đến dưới 65",
            "Nhóm D (yếu): dưới 45",
            "Đường đứt nét: mức bắt đầu của một nhóm",
        ):
            assert band in legend
        assert "85, 65, 45" in (page.locator("svg.chart desc").first.text_content() or "")
        caption = page.locator("figure.chart-figure figcaption").first.text_content()
        assert LONG_NAME in (caption or "")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"chart-results-{name}.png"), full_page=True)
        page.goto(areas)
        for chart in _charts(page):
            _assert_readable(chart, f"areas ({name})")
        page.screenshot(path=str(SHOTS / f"chart-areas-{name}.png"), full_page=True)
