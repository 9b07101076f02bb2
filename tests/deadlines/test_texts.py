"""A reminder is written in Vietnamese and in English whatever language the process has
active, and writing it leaves that language as it was: the sweep writes thousands of them
from each catalogue directly, without switching Django's language for each."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import translation

from deadlines import texts

DUE = date(2026, 3, 31)


@pytest.mark.parametrize("active", ["vi", "en", None])
def test_a_reminder_is_written_in_both_languages_and_the_active_one_is_left_alone(
    active: str | None,
) -> None:
    with translation.override(active):
        before = translation.get_language()
        vi, en = texts.overdue_reminder("Sở Tư pháp", DUE)
        assert translation.get_language() == before
    assert vi.startswith("Sở Tư pháp chưa gửi kết quả tự đánh giá, chấm điểm đúng hạn (31/03/2026)")
    assert en.startswith("The self-assessment of Sở Tư pháp was not submitted by the deadline")


def test_the_plural_and_the_days_left_follow_each_language() -> None:
    vi, en = texts.explanation_reminder("Sở Y tế", DUE, 2, 1)
    assert en == (
        "Reminder: Sở Y tế has 2 clarification questions to answer by the end of 31/03/2026 "
        "(1 day left)."
    )
    assert "Sở Y tế" in vi and "31/03/2026" in vi and "1 day left" not in vi


def test_the_texts_are_those_django_s_language_switch_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each text, written from its catalogue, is the one written with Django's language
    switched for the whole text (the way every other notification text is written)."""
    writes = [
        lambda: texts.self_assessment_reminder("Sở Tư pháp", DUE, 0),
        lambda: texts.self_assessment_reminder("Sở Tư pháp", DUE, 3),
        lambda: texts.overdue_reminder("Sở %(unit)s", DUE),
        lambda: texts.explanation_reminder("Sở Y tế", DUE, 1, 2),
        lambda: texts.appraisal_reminder("Chỉ số 2026", DUE, 1, 2, 3),
        lambda: texts.late_summary("Chỉ số 2026", DUE, [f"S{n}" for n in range(32)]),
        lambda: texts.report_reminder("Chỉ số 2026", DUE, 1, 4, 2),
        lambda: texts.report_overdue("Chỉ số 2026", DUE, 1, 4),
        lambda: texts.publication_reminder("Chỉ số 2026", DUE, 5),
        lambda: texts.publication_overdue("Chỉ số 2026", DUE),
        lambda: texts.survey_reminder("Chỉ số 2026", DUE, 2, 5, 1),
        lambda: texts.survey_overdue("Chỉ số 2026", DUE, 2, 5),
    ]
    written = [write() for write in writes]
    monkeypatch.setattr(texts, "_bilingual", texts.bilingual)
    assert [write() for write in writes] == written
