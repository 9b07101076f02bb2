"""The whole journey of one case through the API, from self-scoring to publication."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from cases.models import Case, Method, Score
from tests.helpers import api
from workflow.models import AuditEntry


def _leaf_codes(case: Case) -> list[tuple[str, str]]:
    return list(
        Score.objects.filter(case=case)
        .exclude(criterion__method__in=[Method.SURVEY, Method.BONUS, Method.PENALTY])
        .order_by("criterion__position")
        .values_list("criterion__code", "criterion__area__code")
    )


def test_a_case_goes_from_self_scoring_to_published_and_its_history_names_every_actor(
    world: SimpleNamespace, django_capture_on_commit_callbacks: Any
) -> None:
    case = world.case_a
    staff, head = api(world.staff_a), api(world.head_a)

    # The unit scores itself: staff enter every self score (0 is valid for every method).
    for code, _area in _leaf_codes(case):
        response = staff.put(
            f"/api/v1/cases/{case.pk}/scores/{code}/",
            {"self_score": 0, "evidence_explanation": "Chưa thực hiện trong năm."},
            format="json",
        )
        assert response.status_code == 200, (code, response.json())
    assert staff.post(f"/api/v1/cases/{case.pk}/transitions/submit/").status_code == 403

    response = head.post(
        f"/api/v1/cases/{case.pk}/transitions/submit/",
        {"comment": "Gửi kết quả tự chấm"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "submitted"

    secretariat = api(world.secretariat)
    response = secretariat.post(f"/api/v1/cases/{case.pk}/transitions/start_appraisal/")
    assert response.json()["state"] == "appraising"

    # The survey part comes from the survey software, imported by the secretariat.
    rows = ["Mã đơn vị,Mã tiêu chí,Điểm"] + [
        f"{unit},{code},1"
        for unit in ("STP", "STC")
        for code in Score.objects.filter(case=case, criterion__method=Method.SURVEY)
        .order_by("criterion__position")
        .values_list("criterion__code", flat=True)
    ]
    survey = SimpleUploadedFile("xhh.csv", "\n".join(rows).encode(), "text/csv")
    response = secretariat.post(f"/api/v1/cycles/{world.cycle.pk}/survey/", {"file": survey})
    assert response.status_code in (200, 201), response.json()

    # An appraiser appraises their areas and asks a question on one criterion.
    appraisers = {
        "1": world.appraiser,
        "2": world.appraiser,
        "3": world.appraiser,
        "4": world.appraiser,
    }
    for code, area in _leaf_codes(case):
        who = api(appraisers.get(area, world.appraiser2))
        response = who.put(
            f"/api/v1/cases/{case.pk}/scores/{code}/",
            {"appraised_score": 0, "comment": "Đồng ý"},
            format="json",
        )
        assert response.status_code == 200, (code, response.json())
    appraiser = api(world.appraiser)
    response = appraiser.post(
        f"/api/v1/cases/{case.pk}/clarifications/",
        {"criterion": "1.1.1", "question": "Đề nghị bổ sung kế hoạch."},
        format="json",
    )
    assert response.status_code == 201, response.json()
    question_id = response.json()["id"]
    response = appraiser.post(f"/api/v1/cases/{case.pk}/transitions/request_explanation/")
    assert response.json()["state"] == "explanation"

    # The unit answers; the head sends the explanation.
    response = staff.post(
        f"/api/v1/clarifications/{question_id}/answer/",
        {"answer": "Kế hoạch số 12/KH-STP ngày 10/01."},
        format="json",
    )
    assert response.status_code == 200, response.json()
    response = head.post(f"/api/v1/cases/{case.pk}/transitions/submit_explanation/")
    assert response.json()["state"] == "appraising"

    # Round 2: the appraiser confirms the criterion; the secretariat finalises.
    response = appraiser.put(
        f"/api/v1/cases/{case.pk}/scores/1.1.1/",
        {"appraised_score": 1, "comment": "Đã bổ sung kế hoạch"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["appraised_round"] == 2
    response = secretariat.post(f"/api/v1/cases/{case.pk}/transitions/finalise/")
    assert response.json()["state"] == "finalised", response.json()

    # The other case must be finalised too before the cycle can be published.
    Case.objects.filter(pk=world.case_b.pk).update(state="finalised")
    assert secretariat.post(f"/api/v1/cycles/{world.cycle.pk}/submit_results/").status_code == 200
    response = api(world.leader).post(
        f"/api/v1/cycles/{world.cycle.pk}/publish/",
        {"decision_number": "123/QĐ-UBND", "decision_date": "15/05/2026"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "published"

    history = staff.get(f"/api/v1/cases/{case.pk}/history/").json()
    steps = [(h["action"], h["actor"]) for h in history if h["action"].startswith("workflow.case")]
    assert steps == [
        ("workflow.case.submit", "stp.head"),
        ("workflow.case.start_appraisal", "secretariat"),
        ("workflow.case.request_explanation", "appraiser1"),
        ("workflow.case.submit_explanation", "stp.head"),
        ("workflow.case.finalise", "secretariat"),
        ("workflow.case.publish", "leader"),
    ]
    assert all(h["at"] for h in history)
    detail = staff.get(f"/api/v1/cases/{case.pk}/").json()
    assert detail["state"] == "published"
    assert detail["totals"]["appraised_total"] == "11.00"  # 1.1.1 and ten survey leaves
    snapshots = AuditEntry.objects.filter(case=case).exclude(snapshot_sha256="")
    assert [e.action for e in snapshots] == [
        "workflow.case.submit",
        "workflow.case.finalise",
        "workflow.case.publish",
    ]
