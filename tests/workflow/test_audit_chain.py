"""The audit trail is tamper-evident: a hash chain that verify_audit walks, appended under
concurrency without forks, and rows the application's database role cannot change."""

from __future__ import annotations

import itertools
import threading
from io import StringIO
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction

from cases.permissions import ensure_role_groups
from tests.factories import make_user
from workflow import audit
from workflow.models import AuditEntry

pytestmark = pytest.mark.django_db


def write_entries(n: int, actor: Any) -> list[AuditEntry]:
    entries = []
    for i in range(n):
        with transaction.atomic():
            entries.append(
                audit.record("tests.chain.step", actor=actor, comment=f"bước {i}", data={"i": i})
            )
    return entries


def verify() -> str:
    try:
        call_command("verify_audit", stdout=StringIO())
    except CommandError as exc:
        return str(exc)
    return ""


@pytest.fixture
def actor(db: Any) -> Any:
    ensure_role_groups()
    return make_user("thu.ky")


def test_every_entry_is_chained_to_the_one_before(world: SimpleNamespace) -> None:
    entries = list(AuditEntry.objects.order_by("pk"))
    assert len(entries) > 5  # the world's memberships, assignments and cycle opening
    assert entries[0].prev_hash == audit.GENESIS_HASH
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.hash
        assert entry.hash == audit.entry_hash(entry)
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert f"intact: {len(entries)} entries" in out.getvalue()


def test_verify_audit_names_an_altered_entry(actor: Any) -> None:
    entries = write_entries(4, actor)
    AuditEntry.objects.filter(pk=entries[2].pk).update(comment="đã sửa")
    assert f"audit entry #{entries[2].pk}" in verify()
    assert "was altered" in verify()


def test_verify_audit_names_an_altered_snapshot(world: SimpleNamespace) -> None:
    with transaction.atomic():
        entry = audit.case_transition(
            world.case_a, name="probe", actor=world.head_a, source="x", comment="", snapshot=True
        )
    AuditEntry.objects.filter(pk=entry.pk).update(snapshot={"scores": []})
    assert f"audit entry #{entry.pk}" in verify() and "snapshot" in verify()


def test_verify_audit_names_where_an_entry_was_deleted(actor: Any) -> None:
    entries = write_entries(4, actor)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM workflow_auditentry WHERE id = %s", [entries[2].pk])
    problem = verify()
    assert f"deleted after audit entry #{entries[1].pk}" in problem
    assert f"audit entry #{entries[3].pk}" in problem


def test_verify_audit_names_an_inserted_entry(actor: Any) -> None:
    (first,) = write_entries(1, actor)
    with connection.cursor() as cursor:  # leave room for a forged entry between two real ones
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('workflow_auditentry', 'id'), %s)",
            [first.pk + 10],
        )
    (second,) = write_entries(1, actor)
    forged = AuditEntry(
        pk=first.pk + 5, at=first.at, actor=actor, action="tests.chain.forged", data={}
    )
    forged.prev_hash = first.hash
    forged.hash = audit.entry_hash(forged)
    forged.save(force_insert=True)
    assert f"audit entry #{forged.pk}" in verify() and "was inserted" in verify()
    assert second.prev_hash == first.hash


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_unbroken_chain() -> None:
    ensure_role_groups()
    actor = make_user("thu.ky")
    writers, per_writer = 4, 15
    barrier = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write() -> None:
        try:
            barrier.wait()
            write_entries(per_writer, actor)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert AuditEntry.objects.filter(action="tests.chain.step").count() == writers * per_writer
    assert verify() == ""


def test_the_app_role_cannot_update_or_delete_audit_rows(actor: Any) -> None:
    """The GRANTs of docs/deploy.md, applied to a throwaway role (rolled back with the test)."""
    (entry,) = write_entries(1, actor)
    with connection.cursor() as cursor:
        cursor.execute("CREATE ROLE par_app_probe NOLOGIN")
        cursor.execute("GRANT USAGE ON SCHEMA public TO par_app_probe")
        cursor.execute(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO par_app_probe"
        )
        cursor.execute("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO par_app_probe")
        cursor.execute("REVOKE UPDATE, DELETE, TRUNCATE ON workflow_auditentry FROM par_app_probe")
        cursor.execute("SET LOCAL ROLE par_app_probe")
        try:
            for statement in (
                "UPDATE workflow_auditentry SET comment = 'x' WHERE id = %s",
                "DELETE FROM workflow_auditentry WHERE id = %s",
            ):
                with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
                    cursor.execute(statement, [entry.pk])
            with transaction.atomic():  # it still reads and appends
                cursor.execute("SELECT count(*) FROM workflow_auditentry")
                assert cursor.fetchone()[0] >= 1
                appended = audit.record("tests.chain.by_app_role", actor=actor)
            assert appended.prev_hash == entry.hash
        finally:
            cursor.execute("RESET ROLE")
