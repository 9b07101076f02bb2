"""The audit trail is tamper-evident: keyed hash chains per case (and per cycle, and one for
the installation) that verify_audit walks, anchored into one installation-wide chain whose
head operators keep; appended under concurrency without forks and without making writers of
different cases wait; rows the application's database role cannot change."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import subprocess
import sys
import threading
import time
from io import StringIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from cases import bulk
from cases.models import Case
from cases.permissions import ensure_role_groups
from tests.factories import build_world, make_user
from workflow import audit
from workflow.models import AuditEntry

pytestmark = pytest.mark.django_db


def write_entries(n: int, actor: Any, case: Case | None = None) -> list[AuditEntry]:
    entries = []
    for i in range(n):
        with transaction.atomic():
            entries.append(
                audit.record(
                    "tests.chain.step", actor=actor, case=case, comment=f"bước {i}", data={"i": i}
                )
            )
    return entries


def verify(*args: str) -> str:
    try:
        call_command("verify_audit", *args, stdout=StringIO())
    except CommandError as exc:
        return str(exc)
    return ""


def verify_output(*args: str) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def raw(sql: str, params: list[Any]) -> None:
    """What someone who can write the table does, bypassing the ORM's append-only guard."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def resign(entry_id: int, key: str, **changes: Any) -> None:
    """Rewrite an entry and recompute its hash with `key`, as a forger would."""
    entry = AuditEntry.objects.get(pk=entry_id)
    for name, value in changes.items():
        setattr(entry, name, value)
    entry.key_id = audit.key_id(key)
    digest = audit.entry_hash(entry, {entry.key_id: key.encode()})
    raw(
        "UPDATE workflow_auditentry SET comment = %s, data = %s::jsonb, prev_hash = %s, "
        "key_id = %s, hash = %s WHERE id = %s",
        [
            entry.comment,
            audit.canonical_json(entry.data),
            entry.prev_hash,
            entry.key_id,
            digest,
            entry_id,
        ],
    )


def rewrite_chain_from(chain: str, seq: int, key: str, comment: str) -> None:
    """Change entry `seq` of a chain and re-sign it and every later one (prev hashes too)."""
    prev = AuditEntry.objects.get(chain=chain, seq=seq - 1).hash if seq > 1 else None
    for entry in AuditEntry.objects.filter(chain=chain, seq__gte=seq).order_by("seq"):
        changes: dict[str, Any] = {"prev_hash": prev or audit.GENESIS_HASH}
        if entry.seq == seq:
            changes["comment"] = comment
        resign(entry.pk, key, **changes)
        prev = AuditEntry.objects.get(pk=entry.pk).hash


@pytest.fixture
def actor(db: Any) -> Any:
    ensure_role_groups()
    return make_user("thu.ky")


def test_every_entry_is_chained_to_the_one_before_in_its_own_chain(
    world: SimpleNamespace,
) -> None:
    entries = list(AuditEntry.objects.order_by("chain", "seq"))
    assert len(entries) > 5  # the world's memberships, assignments and cycle opening
    chains = {e.chain for e in entries}
    assert f"cycle:{world.cycle.pk}" in chains and "installation" in chains
    for chain, in_chain in itertools.groupby(entries, key=lambda e: e.chain):
        ordered = list(in_chain)
        assert [e.seq for e in ordered] == list(range(1, len(ordered) + 1)), chain
        assert ordered[0].prev_hash == audit.GENESIS_HASH
        for previous, entry in itertools.pairwise(ordered):
            assert entry.prev_hash == previous.hash
    key = audit.current_key()
    assert {e.key_id for e in entries} == {audit.key_id(key)}
    for entry in entries:  # an HMAC with the installation's key, not a bare hash
        assert entry.hash == audit.entry_hash(entry)
        bare = hashlib.sha256(audit.canonical_json(audit.entry_fields(entry)).encode())
        assert entry.hash != bare.hexdigest()
    out = verify_output("--no-anchor")
    assert f"intact: {len(entries)} entries in {len(chains)} chains" in out


def test_a_case_transition_is_written_to_the_case_chain(world: SimpleNamespace) -> None:
    before = AuditEntry.objects.filter(chain=f"case:{world.case_a.pk}").count()
    with transaction.atomic():
        entry = audit.case_transition(
            world.case_a, name="probe", actor=world.head_a, source="x", comment=""
        )
    assert entry.chain == f"case:{world.case_a.pk}" and entry.seq == before + 1
    assert not AuditEntry.objects.filter(chain=f"case:{world.case_b.pk}", pk=entry.pk).exists()


def test_verify_audit_names_an_altered_entry(actor: Any) -> None:
    entries = write_entries(4, actor)
    raw("UPDATE workflow_auditentry SET comment = 'đã sửa' WHERE id = %s", [entries[2].pk])
    problem = verify()
    assert f"audit entry #{entries[2].pk}" in problem and "was altered" in problem


def test_verify_audit_names_an_altered_snapshot(world: SimpleNamespace) -> None:
    with transaction.atomic():
        entry = audit.case_transition(
            world.case_a, name="probe", actor=world.head_a, source="x", comment="", snapshot=True
        )
    raw(
        "UPDATE workflow_auditentry SET snapshot = '{\"scores\": []}'::jsonb WHERE id = %s",
        [entry.pk],
    )
    problem = verify()
    assert f"audit entry #{entry.pk}" in problem and "snapshot" in problem


def test_verify_audit_names_where_an_entry_was_deleted(actor: Any) -> None:
    entries = write_entries(4, actor)
    raw("DELETE FROM workflow_auditentry WHERE id = %s", [entries[2].pk])
    problem = verify()
    assert "deleted from chain installation" in problem
    assert f"after audit entry #{entries[1].pk}" in problem
    assert f"audit entry #{entries[3].pk}" in problem


def test_a_rewrite_with_recomputed_hashes_but_without_the_key_is_detected(actor: Any) -> None:
    entries = write_entries(4, actor)
    # The forger recomputes every later hash, as with an unkeyed chain, with a key of their own.
    rewrite_chain_from("installation", entries[1].seq, "a-key-of-my-own-choosing", "đã sửa")
    problem = verify()
    assert f"audit entry #{entries[1].pk}" in problem
    assert "is signed with audit key" in problem and "does not have" in problem
    # ...or claims the installation's key id: the hash does not match.
    for entry in entries[1:]:
        raw(
            "UPDATE workflow_auditentry SET key_id = %s WHERE id = %s",
            [audit.key_id(audit.current_key()), entry.pk],
        )
    problem = verify()
    assert f"audit entry #{entries[1].pk}" in problem and "was altered" in problem


def test_a_forged_entry_appended_without_the_key_is_detected(actor: Any) -> None:
    (first,) = write_entries(1, actor)
    forged = AuditEntry(
        at=first.at,
        actor=actor,
        action="tests.chain.forged",
        data={},
        chain="installation",
        seq=first.seq + 1,
        prev_hash=first.hash,
        key_id=first.key_id,
    )
    fields = audit.canonical_json(audit.entry_fields(forged)).encode()
    forged.hash = hmac.new(b"guessed", fields, hashlib.sha256).hexdigest()
    forged.save(force_insert=True)
    problem = verify()
    assert f"audit entry #{forged.pk}" in problem and "written without the audit key" in problem


def test_a_case_chain_deleted_whole_or_cut_at_its_end_is_detected(
    world: SimpleNamespace,
) -> None:
    write_entries(3, world.head_a, world.case_a)
    write_entries(2, world.head_b, world.case_b)
    assert verify() == ""  # anchors the heads of both case chains
    chain_a, chain_b = f"case:{world.case_a.pk}", f"case:{world.case_b.pk}"
    last_a = AuditEntry.objects.filter(chain=chain_a).order_by("-seq").first()
    assert last_a is not None
    raw("CREATE TEMP TABLE kept AS SELECT * FROM workflow_auditentry WHERE id = %s", [last_a.pk])
    raw("DELETE FROM workflow_auditentry WHERE id = %s", [last_a.pk])
    problem = verify("--no-anchor")
    assert f"the end of chain {chain_a} was cut" in problem
    assert f"recorded {last_a.seq} entries" in problem
    raw("INSERT INTO workflow_auditentry SELECT * FROM pg_temp.kept", [])
    assert verify("--no-anchor") == ""
    raw("DELETE FROM workflow_auditentry WHERE chain = %s", [chain_b])
    problem = verify("--no-anchor")
    assert f"chain {chain_b} was deleted" in problem and "recorded 2 entries" in problem


def test_anchors_record_only_the_chains_that_changed(world: SimpleNamespace) -> None:
    first = audit.anchor(full=True)
    assert first is not None and first.chain == audit.ANCHOR_CHAIN
    assert f"cycle:{world.cycle.pk}" in first.data["heads"]
    assert audit.anchor() is None and audit.anchor(full=True) is None  # nothing new
    (entry,) = write_entries(1, world.head_a, world.case_a)
    second = audit.anchor()
    assert second is not None
    assert second.data["heads"] == {entry.chain: [entry.seq, entry.hash]}
    assert second.prev_hash == first.hash and second.seq == first.seq + 1


def test_verify_audit_prints_the_head_and_keeps_it_in_the_head_file(
    world: SimpleNamespace, tmp_path: Path
) -> None:
    heads = tmp_path / "audit-heads.txt"
    out = verify_output("--head-file", str(heads))
    head = AuditEntry.objects.filter(chain=audit.ANCHOR_CHAIN).order_by("-seq").first()
    assert head is not None
    assert f"Head: #{head.pk} {head.hash}" in out
    assert heads.read_text().startswith(f"{head.pk} {head.hash} ")
    write_entries(2, world.head_a, world.case_a)
    out = verify_output("--head-file", str(heads))  # the next day: the old head still holds
    assert f"recorded head #{head.pk} is unchanged" in out
    assert len(heads.read_text().splitlines()) == 2


def test_a_rewrite_with_the_key_is_detected_by_the_recorded_head(
    world: SimpleNamespace, tmp_path: Path
) -> None:
    """Whoever holds the key as well can re-sign everything: the head kept off the machine
    no longer matches the trail."""
    heads = tmp_path / "audit-heads.txt"
    write_entries(3, world.head_a, world.case_a)
    verify_output("--head-file", str(heads))
    chain = f"case:{world.case_a.pk}"
    key = audit.current_key()
    rewrite_chain_from(chain, 2, key, "đã sửa")
    # The anchor chain re-signed too, with the rewritten case head in it.
    anchors = list(AuditEntry.objects.filter(chain=audit.ANCHOR_CHAIN).order_by("seq"))
    prev = audit.GENESIS_HASH
    for entry in anchors:
        data = dict(entry.data)
        if chain in data["heads"]:
            head = AuditEntry.objects.filter(chain=chain).order_by("-seq").first()
            assert head is not None
            data["heads"] = {**data["heads"], chain: [head.seq, head.hash]}
        resign(entry.pk, key, data=data, prev_hash=prev)
        prev = AuditEntry.objects.get(pk=entry.pk).hash
    assert verify("--no-anchor") == ""  # every chain is consistent again...
    problem = verify("--no-anchor", "--head-file", str(heads))
    assert f"recorded head #{anchors[-1].pk} has another hash now" in problem
    assert "rewritten" in problem
    raw("DELETE FROM workflow_auditentry WHERE id = %s", [anchors[-1].pk])
    problem = verify("--no-anchor", "--expect-head", heads.read_text().split("\n")[0])
    assert f"recorded head #{anchors[-1].pk} is no longer in the audit trail" in problem


def test_a_rotated_key_keeps_older_entries_verifiable(actor: Any, settings: Any) -> None:
    old_key = audit.current_key()
    old = write_entries(2, actor)
    settings.AUDIT_KEY = "a-new-audit-key-of-enough-length-0123456789"
    settings.AUDIT_RETIRED_KEYS = [old_key]
    new = write_entries(2, actor)
    assert {e.key_id for e in old} == {audit.key_id(old_key)}
    assert {e.key_id for e in new} == {audit.key_id(settings.AUDIT_KEY)}
    assert new[0].prev_hash == old[-1].hash
    assert verify() == ""
    settings.AUDIT_RETIRED_KEYS = []  # the old key lost
    problem = verify("--no-anchor")
    assert f"signed with audit key {audit.key_id(old_key)}" in problem


def test_an_entry_given_a_head_another_writer_has_moved_on_is_chained_after_that_writer(
    world: SimpleNamespace,
) -> None:
    """The head read with the locked case may predate the commit of the writer the lock
    waited for (two uploads to one case at once): the position is then taken, and the entry
    is chained after the entry that took it, not refused."""
    chain = f"case:{world.case_a.pk}"
    with transaction.atomic():
        locked = (
            Case.objects.select_for_update().annotate(**audit.case_head()).get(pk=world.case_a.pk)
        )
        # The other writer, committed while this one waited for the lock.
        other = audit.case_transition(
            world.case_a, name="probe", actor=world.head_a, source="x", comment=""
        )
        entry = audit.record("tests.chain.step", actor=world.head_a, case=locked, case_locked=True)

    assert entry.pk is not None and entry.seq == other.seq + 1
    assert entry.prev_hash == other.hash
    assert AuditEntry.objects.filter(chain=chain).order_by("-seq").first() == entry
    assert verify() == ""


def test_a_change_sent_with_an_entry_whose_position_was_taken_is_written_once(
    world: SimpleNamespace,
) -> None:
    """A score save sends its UPDATE in the statement of its audit entry: when the entry's
    position turns out taken, the entry is chained again on the head read now, and the
    UPDATE, which went through the first time, is not sent again."""
    score = world.case_a.scores.select_related("criterion").first()
    with transaction.atomic():
        locked = (
            Case.objects.select_for_update().annotate(**audit.case_head()).get(pk=world.case_a.pk)
        )
        other = audit.case_transition(
            world.case_a, name="probe", actor=world.head_a, source="x", comment=""
        )
        score.case, score.note, score.version = locked, "Đã rà soát", score.version + 1
        change = bulk.pending_update(score, ["note", "version"])
        with CaptureQueriesContext(connection) as statements:
            entry = audit.score_changed(
                score,
                actor=world.head_a,
                before={"note": ""},
                appraised=False,
                case_locked=True,
                along=change,
            )

    assert change.rowcount == 1
    inserts = [q["sql"] for q in statements if "INSERT" in q["sql"]]
    assert [sql.count("UPDATE") for sql in inserts] == [1, 0]
    assert entry.seq == other.seq + 1 and entry.prev_hash == other.hash
    score.refresh_from_db()
    assert (score.note, score.version) == ("Đã rà soát", 1)
    assert verify() == ""


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_unbroken_chains() -> None:
    w = build_world()
    case = Case.objects.create(cycle=w.cycle, unit=w.unit_a)
    writers, per_writer = 4, 12
    barrier = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(i: int) -> None:
        try:
            barrier.wait()
            # Two writers share the installation's chain, two the case's.
            write_entries(per_writer, w.secretariat, case if i % 2 else None)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert AuditEntry.objects.filter(action="tests.chain.step").count() == writers * per_writer
    assert AuditEntry.objects.filter(chain=f"case:{case.pk}").count() == 2 * per_writer
    assert verify() == ""


@pytest.mark.django_db(transaction=True)
def test_a_writer_of_one_case_does_not_wait_for_a_writer_of_another() -> None:
    w = build_world()
    case_a = Case.objects.create(cycle=w.cycle, unit=w.unit_a)
    case_b = Case.objects.create(cycle=w.cycle, unit=w.unit_b)
    holding, release = threading.Event(), threading.Event()
    took: list[float] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                audit.record("tests.chain.slow", actor=w.secretariat, case=case_a)
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    slow = threading.Thread(target=slow_writer)
    slow.start()
    try:
        assert holding.wait(10)
        start = time.monotonic()
        with transaction.atomic():
            audit.record("tests.chain.quick", actor=w.secretariat, case=case_b)
        took.append(time.monotonic() - start)
    finally:
        release.set()
        slow.join()
    assert took[0] < 2, "the second case's entry waited for the first case's transaction"
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


def test_the_chains_hold_on_sqlite_as_well(tmp_path: Path) -> None:
    """The embedded default runs on SQLite, where no row or advisory lock exists."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", VAR_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("sqlite_audit_story.py"))],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "sqlite audit chains: OK" in result.stdout


def test_the_worker_anchors_after_each_sweep(world: SimpleNamespace, monkeypatch: Any) -> None:
    from deadlines import runner

    monkeypatch.setattr(runner, "close_old_connections", lambda: None)  # the test's transaction
    runner.sweep_once()
    first = AuditEntry.objects.filter(chain=audit.ANCHOR_CHAIN).order_by("-seq").first()
    assert first is not None and f"cycle:{world.cycle.pk}" in first.data["heads"]
    runner.sweep_once()  # nothing written since: no new anchor
    assert AuditEntry.objects.filter(chain=audit.ANCHOR_CHAIN).count() == 1


def test_production_reads_the_audit_key_from_a_secret_file_and_refuses_the_example(
    tmp_path: Path,
) -> None:
    from tests.ops.test_deploy_checks import manage, production_env

    result = manage(
        "check", env=production_env(AUDIT_KEY="change-me-to-another-long-random-string")
    )
    assert result.returncode != 0 and "AUDIT_KEY is an example" in result.stderr
    secret = tmp_path / "audit_key"
    secret.write_text("k3y-from-a-docker-secret-0123456789abcdef\n")
    result = manage(
        "shell",
        "-c",
        "from workflow import audit; print(audit.key_id(audit.current_key()))",
        env=production_env(AUDIT_KEY_FILE=str(secret), VAR_DIR=str(tmp_path / "var")),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == audit.key_id("k3y-from-a-docker-secret-0123456789abcdef")
    assert not (tmp_path / "var" / "audit.key").exists()  # nothing made beside it
