"""The audit chains on SQLite (the embedded default), run in a process of its own by
tests/workflow/test_audit_chain.py: concurrent writers of two cases and the installation,
a batch appended as the sweep does, an anchor, verify_audit intact, then an altered entry named."""

from __future__ import annotations

import os
import sys
import threading
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    import django

    django.setup()
    from django.db import connection, connections, transaction

    # Writers queue for the write lock at BEGIN instead of failing on the upgrade.
    connections["default"].settings_dict.setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from cases import bulk
    from cases.models import Case, Cycle, Unit, UnitGroup
    from workflow import audit

    user = User.objects.create_user("thu.ky")
    group = UnitGroup.objects.create(code="khoi_xa", name="Khối xã")
    cycle = Cycle.objects.create(
        year=2026,
        title="CCHC 2026",
        authority="UBND",
        self_assessment_due=date(2027, 1, 1),
        appraisal_due=date(2027, 2, 1),
    )
    cases = [
        Case.objects.create(cycle=cycle, unit=Unit.objects.create(code=c, name=c, group=group))
        for c in ("X1", "X2")
    ]
    failures: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for n in range(10):
                with transaction.atomic():
                    audit.record(
                        "tests.sqlite.step", actor=user, case=[*cases, None][i % 3], data={"n": n}
                    )
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [], failures
    # A batch of the sweep: one entry per case, each with a snapshot, in one INSERT.
    with transaction.atomic():
        batch = [
            audit.entry_of(
                "tests.sqlite.batch", actor=user, case=case, snapshot={"ô": "điểm", "n": [1]}
            )
            for case in cases
        ]
        audit.append_locked(batch)
    assert all(entry.pk is not None and entry.seq == 21 for entry in batch), batch
    # A change's UPDATE given with its entry goes just before the entry's INSERT here.
    with transaction.atomic():
        change = bulk.pending_update(cases[1], ["updated_at"])
        audit.record("tests.sqlite.along", actor=user, case=cases[1], along=change)
    assert change.rowcount == 1, change
    assert audit.anchor(full=True) is not None
    result = audit.verify()
    assert result.problem == "" and result.checked == 64, result
    for case in cases:
        seqs = list(
            audit.AuditEntry.objects.filter(chain=f"case:{case.pk}")
            .order_by("seq")
            .values_list("seq", flat=True)
        )
        assert seqs == list(range(1, 23 if case == cases[1] else 22)), seqs
    victim = audit.AuditEntry.objects.filter(chain=f"case:{cases[0].pk}", seq=5).get()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE workflow_auditentry SET comment = 'đã sửa' WHERE id = %s", [victim.pk]
        )
    problem = audit.verify().problem
    assert f"audit entry #{victim.pk}" in problem and "was altered" in problem, problem
    print("sqlite audit chains: OK")


if __name__ == "__main__":
    main()
