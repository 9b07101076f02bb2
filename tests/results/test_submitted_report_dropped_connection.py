"""The self-assessment report survives a database connection dropped right after the
sending's commit, before the worker's pass that keeps its report.

In a module of its own: the sending commits for real (transaction=True), which would make
every test of tests/results/test_submitted_report.py build its own province
(tests/sharing.py).
"""

from __future__ import annotations

from types import SimpleNamespace

import psycopg
import pytest

from cases.models import Case
from evidence.storage import LocalStorage
from results.models import SubmittedReport
from tests.helpers import api, fill_self_scores
from workflow.models import AuditEntry


@pytest.mark.django_db(transaction=True)
def test_a_report_lost_to_a_dropped_database_connection_is_kept_by_the_workers_next_pass(
    world: SimpleNamespace, local_store: LocalStorage
) -> None:
    """The database connection goes away as the sending's after-commit work begins: the
    unit's sending stands, and the worker's next pass (a new connection) keeps the report."""
    from django.db import connection

    from deadlines import runner
    from workflow import events

    def drop_the_connection(entry: AuditEntry) -> None:
        params = connection.settings_dict
        with psycopg.connect(
            dbname=params["NAME"],
            user=params["USER"],
            password=params["PASSWORD"],
            host=params["HOST"],
            port=params["PORT"],
            autocommit=True,
        ) as other:
            other.execute(
                "SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid]
            )

    fill_self_scores(world.case_a, 0)
    events._after_commit.insert(0, drop_the_connection)
    try:
        sent = api(world.head_a).post(f"/api/v1/cases/{world.case_a.pk}/transitions/submit/")
    finally:
        events._after_commit.remove(drop_the_connection)
    assert sent.status_code == 200
    connection.close()  # what the request's end does outside the test client
    assert Case.objects.get(pk=world.case_a.pk).state == Case.State.SUBMITTED
    assert not SubmittedReport.objects.exists()

    runner.sweep_once()

    kept = SubmittedReport.objects.select_related("submission").get()
    assert kept.case_id == world.case_a.pk
    assert kept.submission.action == "workflow.case.submit"
