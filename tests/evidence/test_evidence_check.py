"""`manage.py evidence_check` finds each kind of inconsistency; `--repair` fixes it safely."""

from __future__ import annotations

import io
import os
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from evidence import consistency
from evidence.models import Document
from evidence.storage import LocalStorage, S3Storage, Storage, new_key
from tests.evidence import samples
from tests.evidence.helpers import upload
from tests.helpers import force_state
from workflow.models import AuditEntry


def run(*args: str) -> tuple[str, bool]:
    """The command's output, and whether it exited with success."""
    out = io.StringIO()
    try:
        call_command("evidence_check", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue() + f"\nERROR {exc}", False
    return out.getvalue(), True


def uploaded(world: SimpleNamespace, name: str, criterion: str = "1.1.1") -> Document:
    response = upload(world.staff_a, world.case_a, criterion, samples.pdf(4000), name)
    assert response.status_code == 201
    return Document.objects.get(pk=response.json()["id"])


def test_a_consistent_store_is_reported_clean(world: SimpleNamespace, store: Storage) -> None:
    uploaded(world, "a.pdf")
    uploaded(world, "b.pdf", "1.2")

    output, ok = run()

    assert ok
    assert "Checked 2 rows and 2 objects: 0 problems, 0 repaired." in output


def test_a_row_whose_object_vanished_is_found_and_marked_missing(
    world: SimpleNamespace, store: Storage
) -> None:
    doc = uploaded(world, "biến mất.pdf")
    store.delete(doc.storage_key, doc.version_id)  # behind the application's back

    output, ok = run()
    assert not ok
    assert f"MISSING   document {doc.pk} of case {world.case_a.pk} “biến mất.pdf”" in output
    doc.refresh_from_db()
    assert doc.integrity == "ok"  # only reported

    output, ok = run("--repair")
    assert ok, output
    doc.refresh_from_db()
    assert doc.integrity == "missing"
    entry = AuditEntry.objects.get(action="evidence.file.integrity_changed")
    assert (entry.before, entry.after, entry.actor.username) == (
        {"integrity": "ok"},
        {"integrity": "missing"},
        "system",
    )
    assert run()[1]  # known and marked: nothing left to do


def test_a_local_file_altered_on_disk_is_found_by_its_checksum(
    world: SimpleNamespace, local_store: LocalStorage
) -> None:
    doc = uploaded(world, "sửa.pdf")
    path = local_store.root / doc.storage_key
    path.chmod(0o640)
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF  # same size, other bytes
    path.write_bytes(bytes(data))

    assert run("--no-checksums")[1]  # sizes agree
    output, ok = run("--repair")

    assert ok
    assert "MISMATCH" in output and "recorded → marked mismatch" in output
    doc.refresh_from_db()
    assert doc.integrity == "mismatch"


def test_a_row_whose_recorded_checksum_differs_is_found(
    world: SimpleNamespace, s3_store: S3Storage
) -> None:
    doc = uploaded(world, "a.pdf")
    Document.objects.filter(pk=doc.pk).update(sha256="0" * 64)

    report = consistency.check()

    [problem] = report.problems
    assert (problem.kind, problem.document) == ("mismatch", doc)
    assert problem.detail == f"SHA-256 {doc.sha256} stored, {'0' * 64} recorded"


def test_an_object_no_row_references_is_found_and_deleted_after_the_grace_period(
    world: SimpleNamespace, store: Storage
) -> None:
    doc = uploaded(world, "a.pdf")
    orphan = store.put(
        new_key(world.case_a.pk), io.BytesIO(samples.pdf()), len(samples.pdf()), "application/pdf"
    )

    output, ok = run()
    assert ok and "1 recent objects left alone" in output  # an upload may be in progress

    later = timezone.now() + timedelta(hours=2)
    report = consistency.check(now=later)
    assert [(p.kind, p.key) for p in report.problems] == [("orphan", orphan.key)]

    report = consistency.check(now=later, repair=True)
    assert report.problems[0].outcome == "deleted"
    assert sorted(r.key for r in store.list_objects()) == [doc.storage_key]


def test_an_unlocked_object_of_a_submitted_case_is_found_and_locked(
    world: SimpleNamespace, s3_store: S3Storage
) -> None:
    doc = uploaded(world, "a.pdf")
    force_state(world.case_a, "submitted")  # as if the freeze after submit had failed

    report = consistency.check()
    assert [(p.kind, p.document) for p in report.problems] == [("unlocked", doc)]

    output, ok = run("--repair")
    assert ok and "UNLOCKED" in output and "→ locked until" in output
    doc.refresh_from_db()
    assert doc.retained_until is not None
    assert s3_store.retention(doc.storage_key, doc.version_id)[0] == "GOVERNANCE"
    assert run()[1]


def test_a_locked_orphan_is_left_in_place_and_reported(
    world: SimpleNamespace, s3_store: S3Storage
) -> None:
    content = samples.pdf()
    orphan = s3_store.put(new_key(1), io.BytesIO(content), len(content), "application/pdf")
    s3_store.retain(orphan.key, orphan.version_id, timezone.now() + timedelta(days=1))

    report = consistency.check(repair=True, grace=timedelta(0))

    [problem] = report.problems
    assert problem.kind == "orphan" and not problem.repaired
    assert problem.outcome.startswith("left in place: the store refused")


def test_a_restored_object_makes_its_row_intact_again(
    world: SimpleNamespace, local_store: LocalStorage
) -> None:
    doc = uploaded(world, "a.pdf")
    Document.objects.filter(pk=doc.pk).update(integrity="missing")

    output, ok = run("--repair")

    assert ok and "RESTORED" in output
    doc.refresh_from_db()
    assert doc.integrity == "ok"


def test_an_abandoned_partial_local_file_is_an_orphan(
    world: SimpleNamespace, local_store: LocalStorage
) -> None:
    uploaded(world, "a.pdf")
    partial = local_store.root / f"case-{world.case_a.pk}" / "0123.part"
    partial.write_bytes(b"%PDF-1.7 half")
    old = (timezone.now() - timedelta(days=1)).timestamp()
    os.utime(partial, (old, old))

    output, ok = run("--repair")

    assert ok and "ORPHAN" in output and "→ deleted" in output
    assert not partial.exists()


def test_the_check_says_when_the_store_cannot_be_reached(
    world: SimpleNamespace, s3_store: S3Storage, settings: Any
) -> None:
    uploaded(world, "a.pdf")
    settings.MINIO_ENDPOINT = "127.0.0.1:9"
    settings.MINIO_RETRIES = 0

    with pytest.raises(CommandError, match="cannot be reached"):
        call_command("evidence_check", stdout=io.StringIO())
