"""The case history as people read it: steps first, a row's autosaves folded per session of
work, a filter by kind, and Vietnamese words for every event the audit trail writes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from tests.helpers import fill_self_scores
from tests.web.html import Page
from web import labels
from workflow import audit, services
from workflow.models import AuditEntry
from workflow.transitions import TRANSITIONS


def test_every_event_the_audit_trail_writes_has_words_on_the_pages() -> None:
    codes = {
        value
        for name, value in vars(audit).items()
        if name.isupper() and isinstance(value, str) and value.count(".") == 2
    }
    codes.discard(audit.CASE_TRANSITION)
    codes |= {audit.CASE_TRANSITION.format(name=name) for name in TRANSITIONS}
    assert len(codes) > 30
    assert [code for code in sorted(codes) if labels.action_label(code) == code] == []


def test_autosaves_of_a_row_fold_into_one_line_per_session_and_steps_come_first(
    world: Any, signed_in: Any, django_assert_max_num_queries: Any
) -> None:
    case, staff = world.case_a, world.staff_a
    for points in ("0", "1", "1,5"):
        services.set_self_score(
            case.pk, "1.5", actor=staff, change=services.SelfScoreChange(self_score=points)
        )
    services.set_self_score(
        case.pk, "1.4", actor=staff, change=services.SelfScoreChange(note="Theo báo cáo")
    )
    # The next morning, 1.5 again: a new session of work, a new line.
    AuditEntry.objects.filter(case=case).update(at=timezone.now() - timedelta(hours=20))
    services.set_self_score(
        case.pk, "1.5", actor=staff, change=services.SelfScoreChange(self_score="1")
    )
    fill_self_scores(case)
    services.run_transition(case.pk, "submit", actor=world.head_a)
    client = signed_in(staff)
    url = reverse("web:history", args=[case.pk])
    with django_assert_max_num_queries(12):
        page = Page(client.get(url))
    assert [h.text for h in page.all("h2")][:2] == ["Các bước xử lý hồ sơ", "Mọi thay đổi"]
    lines = [li for li in page.all("li") if li.attrs.get("data-kind") == "self"]
    texts = [li.text for li in lines]
    assert len([t for t in texts if "tiêu chí 1.5" in t]) == 2
    assert any("3 lần lưu" in t and "tiêu chí 1.5" in t for t in texts)
    assert "cases.score" not in page.text

    only_steps = Page(client.get(url, {"kind": "steps"}))
    assert only_steps.id_or_none("changes") is None
    assert "Đã gửi kết quả tự đánh giá" in only_steps.id("steps").text
    assert not [li for li in only_steps.all("li") if li.attrs.get("data-kind")]


def test_an_unknown_kind_shows_everything_instead_of_an_error(world: Any, signed_in: Any) -> None:
    response = signed_in(world.staff_a).get(
        reverse("web:history", args=[world.case_a.pk]), {"kind": "<x>\x00"}
    )
    assert response.status_code == 200


def test_the_details_of_each_change_are_in_words_not_stored_codes(
    world: Any, signed_in: Any
) -> None:
    """A decision on not applicable, an answered question, a withdrawn document, a file found
    altered and an exclusion from the ranking, as the services record them."""
    case, secretariat = world.case_a, world.secretariat
    recorded: list[tuple[str, dict[str, Any]]] = [
        (audit.SCORE_APPRAISED, {"not_applicable_decision": "confirmed"}),
        (audit.CLARIFICATION_ANSWERED, {"answer": "Đã bổ sung", "status": "answered"}),
        (audit.EVIDENCE_WITHDRAWN, {"withdrawn": True}),
        (audit.EVIDENCE_INTEGRITY, {"integrity": "mismatch"}),
        (audit.RANKING_EXCLUDED, {"excluded": True}),
    ]
    with transaction.atomic():
        for action, after in recorded:
            audit.record(action, actor=secretariat, case=case, after=after)
    changes = Page(signed_in(secretariat).get(reverse("web:history", args=[case.pk]))).id("changes")
    for words in (
        "quyết định về đề nghị không áp dụng: đã xác nhận",
        "trạng thái: Đã trả lời",
        "đã rút: có",
        "tệp lưu trữ: Đã bị thay đổi trong kho lưu trữ",
        "không xếp hạng: có",
    ):
        assert words in changes.text, words
    for code in ("confirmed", "answered", "withdrawn", "mismatch", "excluded", "integrity"):
        assert code not in changes.text, code
