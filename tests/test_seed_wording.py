"""The Vietnamese catalogue speaks as the provinces' documents do: a unit "gửi" (sends) its
self-assessment ("tự đánh giá, chấm điểm"), Sở Nội vụ is named (not "cơ quan thường trực"),
results are approved by the Chủ tịch Hội đồng thẩm định, a rank rises "tăng 3 bậc", and a
cycle not yet open is being prepared, not a draft ("dự thảo")."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from types import SimpleNamespace

from django.template.loader import render_to_string
from django.utils import translation

from cases.models import Case, Cycle
from deadlines import texts

PO = Path(__file__).resolve().parent.parent / "locale" / "vi" / "LC_MESSAGES" / "django.po"
# Words the provinces' documents do not use for these things.
NOT_THEIR_WORDS = re.compile(r"\bnộp\b|thường trực|bậc tăng|bậc giảm", re.IGNORECASE)


def _translations() -> list[str]:
    """Every Vietnamese msgstr of the catalogue, joined across its lines."""
    found, current = [], None
    for line in PO.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgstr"):
            current = [line.split(" ", 1)[1]]
            found.append(current)
        elif line.startswith('"') and current is not None:
            current.append(line)
        else:
            current = None
    return ["".join(part.strip('"') for part in parts) for parts in found]


def test_no_translation_uses_words_the_documents_do_not() -> None:
    wrong = [text for text in _translations() if NOT_THEIR_WORDS.search(text)]
    assert wrong == []


def test_a_unit_sends_its_self_assessment_and_sends_it_late() -> None:
    vi, _en = texts.self_assessment_reminder("Sở Tư pháp", date(2026, 3, 31), 3)
    assert "cần gửi kết quả tự đánh giá, chấm điểm chậm nhất trong ngày 31/03/2026" in vi
    with translation.override("vi"):
        assert str(Case.State.SUBMITTED.label) == "Đã gửi"
        assert str(Cycle.Status.DRAFT.label) == "Đang chuẩn bị"


def test_a_rank_rises_and_falls_by_places_in_the_documents_order() -> None:
    with translation.override("vi"):
        up = render_to_string(
            "web/partials/rank_change.html", {"row": SimpleNamespace(rank_change=3)}
        )
        down = render_to_string(
            "web/partials/rank_change.html", {"row": SimpleNamespace(rank_change=-2)}
        )
    assert "tăng 3 bậc" in up and "▲ 3" in up
    assert "giảm 2 bậc" in down and "▼ 2" in down
