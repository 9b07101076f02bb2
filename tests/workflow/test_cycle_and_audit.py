"""The secretariat changes deadlines (audited); the audit trail is append-only and exact."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User

from cases.models import Cycle
from tests.helpers import api, fill_self_scores
from workflow import services
from workflow.audit import canonical_json
from workflow.models import AppendOnlyError, AuditEntry


def test_secretariat_moves_a_deadline_with_a_reason_and_it_is_audited(
    world: SimpleNamespace,
) -> None:
    old = world.cycle.self_assessment_due
    response = api(world.secretariat).patch(
        f"/api/v1/cycles/{world.cycle.pk}/",
        {
            "self_assessment_due": "31/03/2027",
            "appraisal_due": "10/05/2027",
            "reason": "Theo Công văn 45/UBND-NC",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["self_assessment_due"] == "2027-03-31"
    entry = AuditEntry.objects.get(action="cases.cycle.changed")
    assert entry.before is not None and entry.after is not None
    assert entry.before["self_assessment_due"] == old.isoformat()
    assert entry.after["self_assessment_due"] == "2027-03-31"
    assert entry.comment == "Theo Công văn 45/UBND-NC"
    assert entry.actor == world.secretariat


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"self_assessment_due": "31-13-2027", "reason": "x"}, "không phải là ngày"),
        ({"appraisal_due": "01/01/2020", "reason": "x"}, "phải sau hạn tự đánh giá"),
        ({"publication_target": "31/12/2099"}, "lý do"),
        ({"year": 1999}, "Không thể thay đổi"),
    ],
)
def test_bad_cycle_changes_are_refused_and_change_nothing(
    world: SimpleNamespace, payload: dict[str, object], fragment: str
) -> None:
    before = Cycle.objects.filter(pk=world.cycle.pk).values().get()
    response = api(world.secretariat).patch(
        f"/api/v1/cycles/{world.cycle.pk}/", payload, format="json"
    )
    assert response.status_code == 400
    assert fragment in response.json()["detail"]
    assert Cycle.objects.filter(pk=world.cycle.pk).values().get() == before


def test_only_the_secretariat_changes_a_cycle(world: SimpleNamespace) -> None:
    for user in (world.head_a, world.leader, world.appraiser):
        response = api(user).patch(
            f"/api/v1/cycles/{world.cycle.pk}/", {"title": "Khác"}, format="json"
        )
        assert response.status_code == 403


def _self_score_change(entry: AuditEntry) -> tuple[Any, Any]:
    assert entry.before is not None and entry.after is not None
    return entry.before.get("self_score"), entry.after.get("self_score")


def test_every_self_score_change_is_in_the_audit_with_before_and_after(
    world: SimpleNamespace,
) -> None:
    url = f"/api/v1/cases/{world.case_a.pk}/scores/3.3.1/"
    api(world.staff_a).put(url, {"value": 96.5, "note": "Theo hệ thống"}, format="json")
    api(world.staff_a).put(url, {"value": 99}, format="json")
    entries = AuditEntry.objects.filter(action="cases.score.self_changed").order_by("pk")
    assert [_self_score_change(e) for e in entries] == [
        (None, "2.00"),
        ("2.00", "2.50"),
    ]
    assert entries[0].data == {"criterion": "3.3.1"}


def test_the_submitted_score_table_is_snapshotted_with_its_sha256(world: SimpleNamespace) -> None:
    fill_self_scores(world.case_a, 0)
    services.run_transition(world.case_a.pk, "submit", actor=world.head_a)
    entry = AuditEntry.objects.get(action="workflow.case.submit")
    assert entry.snapshot is not None
    assert len(entry.snapshot["scores"]) == 58 + 3  # leaves and bonus/penalty items
    digest = hashlib.sha256(canonical_json(entry.snapshot).encode()).hexdigest()
    assert entry.snapshot_sha256 == digest


def test_audit_entries_cannot_be_changed_or_deleted(world: SimpleNamespace) -> None:
    entry = AuditEntry.objects.earliest("pk")
    entry.comment = "sửa"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_admin_transition_buttons_go_through_the_service(
    world: SimpleNamespace, client: object
) -> None:
    admin = User.objects.create_superuser("root", "r@example.test", "pw")
    client.force_login(admin)  # type: ignore[attr-defined]
    url = f"/admin/cases/case/{world.case_a.pk}/change/"
    response = client.post(url, {"_fsm_transition_to": "submit"})  # type: ignore[attr-defined]
    assert response.status_code == 302
    world.case_a.refresh_from_db()
    assert world.case_a.state == "self_scoring"  # the guards refused: nothing is scored
    fill_self_scores(world.case_a)
    client.post(url, {"_fsm_transition_to": "submit"})  # type: ignore[attr-defined]
    world.case_a.refresh_from_db()
    assert world.case_a.state == "submitted"
    assert AuditEntry.objects.get(action="workflow.case.submit").actor == admin


def test_a_token_is_issued_for_a_username_and_password(world: SimpleNamespace) -> None:
    response = api(None).post(
        "/api/v1/auth/token/", {"username": "stp.head", "password": "pw-12345-xyz"}, format="json"
    )
    token = response.json()["token"]
    client = api(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert [c["unit"]["code"] for c in client.get("/api/v1/cases/").json()] == ["STP"]
    bad = api(None).post(
        "/api/v1/auth/token/", {"username": "stp.head", "password": "x"}, format="json"
    )
    assert bad.status_code == 400


def test_the_openapi_schema_is_served(world: SimpleNamespace) -> None:
    response = api(world.staff_a).get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/cases/{id}/transitions/{name}/" in response.content
