"""A NUL character, which PostgreSQL refuses to store in text, is bad input: 400 in the
caller's language and nothing changed, not a 500 (found by the API fuzzing)."""

from __future__ import annotations

from types import SimpleNamespace

from cases.models import Score
from tests.helpers import api

EN = (
    "The data sent cannot be stored: it contains a character or a value the database does "
    "not accept (such as a NUL character)."
)
VI = (
    "Không thể lưu dữ liệu đã gửi: dữ liệu chứa ký tự hoặc giá trị mà cơ sở dữ liệu không "
    "chấp nhận (chẳng hạn ký tự NUL)."
)


def test_a_nul_in_a_list_filter_is_refused_as_bad_input(world: SimpleNamespace) -> None:
    response = api(world.staff_a).get(
        "/api/v1/cases/", {"unit": "STP\x00", "state": "x"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": EN, "errors": []}


def test_a_nul_in_a_note_is_refused_in_vietnamese_and_changes_nothing(
    world: SimpleNamespace,
) -> None:
    before = list(Score.objects.filter(case=world.case_a).values_list("pk", "note", "version"))
    response = api(world.staff_a).put(
        f"/api/v1/cases/{world.case_a.pk}/scores/1.1.1/",
        {"self_score": 0, "note": "Kế hoạch\x00"},
        format="json",
    )
    assert response.status_code == 400
    # Refused at the edge by the input serializer, naming the field.
    body = response.json()
    assert body["detail"] == "Dữ liệu gửi lên không hợp lệ."
    assert [e.split(":")[0] for e in body["errors"]] == ["note"]
    assert list(Score.objects.filter(case=world.case_a).values_list("pk", "note", "version")) == (
        before
    )
