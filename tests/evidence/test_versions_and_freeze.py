"""Versions, links to several criteria, withdrawal, the submit guard, and the freeze."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from cases.models import Case, Score
from deadlines.runner import run_after_sweep
from evidence import services
from evidence.models import Document, EvidenceLink
from evidence.storage import S3Storage, Storage, StorageError
from tests.evidence import samples
from tests.evidence.helpers import client_for, upload
from tests.helpers import fill_self_scores, force_state
from workflow.models import AuditEntry


def submit(world: SimpleNamespace, capture: Any) -> Any:
    with capture(execute=True):
        return client_for(world.head_a).post(
            reverse("case-transition", args=[world.case_a.pk, "submit"]), {}, format="json"
        )


def link(user: Any, case: Any, document: int, criterion: str, note: str = "") -> Any:
    return client_for(user).post(
        reverse("case-evidence-links", args=[case.pk]),
        {"document": document, "criterion": criterion, "note": note},
        format="json",
    )


def withdraw(user: Any, link_id: int, reason: str = "Nhầm tệp") -> Any:
    return client_for(user).post(
        reverse("evidence-withdraw", args=[link_id]), {"reason": reason}, format="json"
    )


def test_one_document_is_linked_to_several_criteria_without_uploading_it_twice(
    world: SimpleNamespace, store: Storage
) -> None:
    document = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf(), "Báo cáo năm.pdf").json()

    response = link(world.staff_a, world.case_a, document["id"], "1.2", "Phụ lục 2, trang 14")

    assert response.status_code == 201, response.json()
    assert response.json()["criterion"] == "1.2"
    assert response.json()["note"] == "Phụ lục 2, trang 14"
    assert response.json()["document"]["id"] == document["id"]
    assert Document.objects.count() == 1 and len(list(store.list_objects())) == 1
    assert EvidenceLink.objects.filter(document_id=document["id"]).count() == 2
    assert AuditEntry.objects.filter(action="evidence.link.added").count() == 1


def test_a_document_cannot_be_linked_twice_to_a_criterion_nor_to_another_case(
    world: SimpleNamespace, local_store: Storage
) -> None:
    document = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf()).json()
    other = upload(world.staff_b, world.case_b, "1.1.1", samples.pdf()).json()

    again = link(world.staff_a, world.case_a, document["id"], "1.1.1")
    foreign = link(world.staff_a, world.case_a, other["id"], "1.2")

    assert again.status_code == 409
    assert foreign.status_code == 400
    assert foreign.json()["detail"] == f"Document {other['id']} is not evidence of this case."


@pytest.mark.parametrize("document", [None, "one", [1], 0])
def test_unit_linking_without_a_document_number_gets_the_field_named(
    world: SimpleNamespace, local_store: Storage, document: Any
) -> None:
    upload(world.staff_a, world.case_a, "1.1.1", samples.pdf())
    links = EvidenceLink.objects.count()

    response = client_for(world.staff_a).post(
        reverse("case-evidence-links", args=[world.case_a.pk]),
        {"criterion": "1.2"} if document is None else {"document": document, "criterion": "1.2"},
        format="json",
    )

    assert response.status_code == 400, response.json()
    assert [e for e in response.json()["errors"] if e.startswith("document:")]
    assert EvidenceLink.objects.count() == links


def test_unit_withdraws_a_version_while_self_scoring_and_it_is_audited(
    world: SimpleNamespace, local_store: Storage
) -> None:
    first = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf(), "nhầm.pdf").json()
    upload(world.staff_a, world.case_a, "1.1.1", samples.pdf(2000), "đúng.pdf")

    response = withdraw(world.staff_a, first["link"]["id"])

    assert response.status_code == 200, response.json()
    assert response.json()["current"] is False
    assert response.json()["withdrawn_by"] == "stp.staff"
    entry = AuditEntry.objects.get(action="evidence.link.withdrawn")
    assert (entry.actor, entry.comment, entry.data["filename"]) == (
        world.staff_a,
        "Nhầm tệp",
        "nhầm.pdf",
    )
    assert len(list(local_store.list_objects())) == 2  # the file stays, as history
    listing = client_for(world.appraiser).get(
        reverse("case-evidence", args=[world.case_a.pk]) + "?current=1"
    )
    assert [row["document"]["filename"] for row in listing.json()] == ["đúng.pdf"]
    assert withdraw(world.staff_a, first["link"]["id"]).status_code == 409  # already


def test_withdrawal_is_refused_to_others_and_after_self_scoring(
    world: SimpleNamespace, local_store: Storage
) -> None:
    link_id = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf()).json()["link"]["id"]

    assert withdraw(world.staff_b, link_id).status_code == 404
    assert withdraw(world.appraiser, link_id).status_code == 403
    force_state(world.case_a, "explanation")
    refused = withdraw(world.head_a, link_id)
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("Evidence can be withdrawn only during self-scoring")
    assert EvidenceLink.objects.get().withdrawn_at is None


def test_submit_needs_evidence_or_an_explanation_for_each_criterion_requiring_it(
    world: SimpleNamespace, local_store: Storage, django_capture_on_commit_callbacks: Any
) -> None:
    fill_self_scores(world.case_a)
    Score.objects.filter(case=world.case_a, criterion__code__in=["1.1.1", "1.2", "1.5"]).update(
        evidence_explanation=""
    )
    upload(world.staff_a, world.case_a, "1.2", samples.pdf())
    withdrawn = upload(world.staff_a, world.case_a, "1.5", samples.pdf()).json()["link"]["id"]
    withdraw(world.staff_a, withdrawn)

    refused = submit(world, django_capture_on_commit_callbacks)

    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        "Criterion 1.1.1 requires evidence: attach a document or explain how the score was reached.",
        "Criterion 1.5 requires evidence: attach a document or explain how the score was reached.",
    ]
    Score.objects.filter(case=world.case_a, criterion__code="1.5").update(
        evidence_explanation="Sáng kiến được UBND tỉnh công nhận tại Quyết định 45/QĐ-UBND."
    )
    document = Document.objects.get(links__criterion__code="1.2")
    assert link(world.staff_a, world.case_a, document.pk, "1.1.1").status_code == 201

    assert submit(world, django_capture_on_commit_callbacks).status_code == 200


def as_read(case: Case) -> Case:
    """The case as a transition reads it: a fresh instance (its score rows and evidence are
    loaded once per instance)."""
    return Case.objects.get(pk=case.pk)


def test_a_bonus_claim_needs_evidence_only_when_points_are_claimed(
    world: SimpleNamespace, local_store: Storage
) -> None:
    fill_self_scores(world.case_a)
    now = timezone.now()
    assert services.evidence_or_explanation(as_read(world.case_a), now, {}) == []
    Score.objects.filter(case=world.case_a, criterion__code="9.1").update(self_score=1)
    with translation.override("en"):
        missing = services.evidence_or_explanation(as_read(world.case_a), now, {})
    assert missing == [
        "Criterion 9.1 requires evidence: attach a document or explain how the score was reached."
    ]


def test_evidence_found_broken_does_not_count_for_submit(
    world: SimpleNamespace, local_store: Storage
) -> None:
    fill_self_scores(world.case_a)
    Score.objects.filter(case=world.case_a, criterion__code="1.2").update(evidence_explanation="")
    upload(world.staff_a, world.case_a, "1.2", samples.pdf())
    assert services.evidence_or_explanation(as_read(world.case_a), timezone.now(), {}) == []

    Document.objects.update(integrity=Document.Integrity.MISSING)

    assert len(services.evidence_or_explanation(as_read(world.case_a), timezone.now(), {})) == 1


def test_the_submit_snapshot_records_the_evidence_versions_relied_on(
    world: SimpleNamespace, local_store: Storage, django_capture_on_commit_callbacks: Any
) -> None:
    fill_self_scores(world.case_a)
    sent = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf(), "Kế hoạch.pdf").json()

    assert submit(world, django_capture_on_commit_callbacks).status_code == 200

    entry = AuditEntry.objects.get(action="workflow.case.submit")
    assert entry.snapshot is not None
    assert entry.snapshot["evidence"] == [
        {
            "criterion": "1.1.1",
            "version": 1,
            "note": "",
            "document": sent["id"],
            "filename": "Kế hoạch.pdf",
            "sha256": sent["sha256"],
            "size": sent["size"],
        }
    ]


def test_submitted_evidence_is_locked_in_the_store_and_a_delete_is_refused(
    world: SimpleNamespace, s3_store: S3Storage, django_capture_on_commit_callbacks: Any
) -> None:
    fill_self_scores(world.case_a)
    upload(world.staff_a, world.case_a, "1.1.1", samples.pdf(), "a.pdf")
    upload(world.staff_a, world.case_a, "1.2", samples.pdf(9000), "b.pdf")
    before = timezone.now()

    assert submit(world, django_capture_on_commit_callbacks).status_code == 200
    run_after_sweep()  # the worker's pass keeps the report as it was sent

    for document in Document.objects.all():
        assert document.retained_until is not None
        assert document.retained_until >= before + timedelta(days=3650) - timedelta(minutes=1)
        mode, until = s3_store.retention(document.storage_key, document.version_id)
        assert mode == "GOVERNANCE"
        assert until == document.retained_until
        with pytest.raises(StorageError):
            s3_store.delete(document.storage_key, document.version_id)
        assert s3_store.stat(document.storage_key, document.version_id).size == document.size
    # the evidence at once; the self-assessment report kept after the sending, then
    entries = AuditEntry.objects.filter(action="evidence.file.retained").order_by("pk")
    assert {entry.actor.username for entry in entries} == {"system"}
    retained = [pk for entry in entries for pk in entry.data["documents"]]
    assert sorted(retained) == sorted(Document.objects.values_list("pk", flat=True))
    assert Document.objects.filter(links__isnull=True, kind="docx").count() == 1


def test_the_cutoff_lock_freezes_evidence_too(
    world: SimpleNamespace, s3_store: S3Storage, django_capture_on_commit_callbacks: Any
) -> None:
    from cases.permissions import system_user
    from deadlines.calendar import end_of_day
    from workflow.services import run_transition

    upload(world.staff_a, world.case_a, "1.1.1", samples.pdf())
    with django_capture_on_commit_callbacks(execute=True):
        run_transition(
            world.case_a.pk,
            "lock_at_cutoff",
            actor=system_user(),
            now=end_of_day(world.cycle.self_assessment_due) + timedelta(hours=1),
        )

    document = Document.objects.get()
    assert s3_store.retention(document.storage_key, document.version_id)[0] == "GOVERNANCE"


def test_a_freeze_that_cannot_reach_the_store_does_not_undo_the_submit(
    world: SimpleNamespace,
    s3_store: S3Storage,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    caplog: Any,
) -> None:
    fill_self_scores(world.case_a)
    upload(world.staff_a, world.case_a, "1.1.1", samples.pdf())
    settings.MINIO_ENDPOINT = "127.0.0.1:9"  # nothing listens there
    settings.MINIO_RETRIES = 0

    response = submit(world, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    world.case_a.refresh_from_db()
    assert world.case_a.state == "submitted"
    assert Document.objects.get().retained_until is None  # evidence_check --repair applies it
    assert "Could not lock the evidence of a frozen case" in caplog.text


def test_on_the_local_store_submit_freezes_evidence_in_the_application_only(
    world: SimpleNamespace, local_store: Storage, django_capture_on_commit_callbacks: Any
) -> None:
    fill_self_scores(world.case_a)
    link_id = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf()).json()["link"]["id"]

    assert submit(world, django_capture_on_commit_callbacks).status_code == 200

    evidence = Document.objects.get(links__isnull=False)
    assert evidence.retained_until is None
    assert not AuditEntry.objects.filter(action="evidence.file.retained").exists()
    assert upload(world.staff_a, world.case_a, "1.2", samples.pdf()).status_code == 409
    assert link(world.staff_a, world.case_a, evidence.pk, "1.2").status_code == 409
    assert withdraw(world.head_a, link_id).status_code == 409


def test_evidence_sent_with_the_explanation_is_locked_when_the_explanation_is_sent(
    world: SimpleNamespace, s3_store: S3Storage, django_capture_on_commit_callbacks: Any
) -> None:
    from workflow import services as workflow

    force_state(world.case_a, "appraising")
    question = workflow.ask_clarification(
        world.case_a.pk, "1.1.1", "Đề nghị bổ sung quyết định.", actor=world.appraiser
    )
    workflow.run_transition(world.case_a.pk, "request_explanation", actor=world.appraiser)
    world.case_a.refresh_from_db()
    assert (
        upload(world.staff_a, world.case_a, "1.1.1", samples.pdf(), "QĐ 45.pdf").status_code == 201
    )
    workflow.answer_clarification(question.pk, "Đã bổ sung Quyết định 45.", actor=world.staff_a)

    with django_capture_on_commit_callbacks(execute=True):
        workflow.run_transition(world.case_a.pk, "submit_explanation", actor=world.head_a)

    document = Document.objects.get()
    assert s3_store.retention(document.storage_key, document.version_id)[0] == "GOVERNANCE"
    assert upload(world.staff_a, world.case_a, "1.1.1", samples.pdf()).status_code == 409
