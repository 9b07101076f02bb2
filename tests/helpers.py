"""Shortcuts the tests share: an API client per persona, scores and states put in place
without running the workflow (the workflow's own tests run it), data built once for the
tests of a module, and waiting for something another thread or process does."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from rest_framework.test import APIClient

from cases.models import Case, Cycle, Method, Score

T = TypeVar("T")


ROOT = Path(__file__).resolve().parents[1]

# Tests of what the embedded default must do run again on SQLite, from the PostgreSQL run.
not_on_sqlite_already = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("sqlite"), reason="already on SQLite"
)


def pytest_on_sqlite(*args: str) -> subprocess.CompletedProcess[str]:
    """pytest on these arguments (tests of this suite) against an in-memory SQLite database,
    in a process of its own; the output is the result's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["DATABASE_URL"] = "sqlite:///:memory:"
    return subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
            "--noconftest",  # the suite's conftest insists on PostgreSQL
            *args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


UNITS_HEADER = ("Mã đơn vị", "Tên đơn vị", "Mã khối", "Tên khối", "Mã đơn vị cấp trên")
ACCOUNTS_HEADER = ("Họ và tên", "Email", "Mã đơn vị", "Vai trò")


def people_workbook(
    units: list[tuple[Any, ...]],
    accounts: list[tuple[Any, ...]],
    *,
    units_header: tuple[str, ...] = UNITS_HEADER,
    accounts_header: tuple[str, ...] = ACCOUNTS_HEADER,
) -> bytes:
    """The units-and-accounts workbook a province fills, as bytes (rows as given)."""
    workbook = Workbook()
    sheet = worksheet(workbook)
    sheet.title = "Đơn vị"
    for row in (units_header, *units):
        sheet.append(list(row))
    other = workbook.create_sheet("Tài khoản")
    for row in (accounts_header, *accounts):
        other.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def worksheet(book: Workbook) -> Worksheet:
    """The active sheet of a new workbook, or of one the product wrote: a worksheet (the
    stubs allow none, or a chart sheet)."""
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    return sheet


def api(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def self_scorable(case: Case) -> Any:
    return Score.objects.filter(case=case).exclude(
        criterion__method__in=[Method.SURVEY, Method.BONUS, Method.PENALTY]
    )


def fill_self_scores(case: Case, points: int = 0, *, explain_evidence: bool = True) -> None:
    """Test set-up shortcut: every self-scorable leaf gets a valid score (0 fits every method).

    Leaves that require evidence also get a written explanation of how the score was reached,
    which the submit guard accepts instead of a file (pass explain_evidence=False to test it).
    """
    self_scorable(case).update(self_score=points)
    if explain_evidence:
        self_scorable(case).filter(criterion__evidence_required=True).update(
            evidence_explanation="Số liệu theo báo cáo CCHC năm của đơn vị."
        )


def import_survey_scores(cycle: Cycle, points: int = 0) -> None:
    """Test set-up shortcut: the survey part as if imported (tests/results tests the import)."""
    Score.objects.filter(case__cycle=cycle, criterion__method=Method.SURVEY).update(
        appraised_score=points
    )


def appraise_all(case: Case, by: User) -> None:
    self_scorable(case).update(
        appraised_score=0, appraised_round=1, appraised_by=by, appraised_at=timezone.now()
    )


def force_state(case: Case, state: str) -> Case:
    """Test set-up shortcut: put a case in a state without running the transitions."""
    Case.objects.filter(pk=case.pk).update(state=state)
    return Case.objects.get(pk=case.pk)


def wait_until(
    condition: Callable[[], Any], seconds: float = 15, every: float = 0.05, what: str = ""
) -> Any:
    """Poll `condition` until it returns something true (returned), instead of sleeping a
    fixed time that is too long on a fast machine and too short on a loaded one."""
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what or condition}")
        time.sleep(every)


def after_a_wrong_code() -> None:
    """django-otp holds a device for a second after a wrong code (twice as long after each
    further one): every held device's last failure is moved that second into the past, as
    if the test had waited it out."""
    for model in (TOTPDevice, StaticDevice):
        model.objects.filter(throttling_failure_timestamp__isnull=False).update(
            throttling_failure_timestamp=F("throttling_failure_timestamp") - timedelta(seconds=1)
        )


def built_once(django_db_blocker: Any, build: Callable[[], T]) -> Iterator[T]:
    """For a module-scoped fixture: `yield from built_once(django_db_blocker, build)`.

    `build()` runs once, inside a transaction that stays open for the module's tests and is
    rolled back after the last one. Each test (`django_db`, not transactional) runs in a
    savepoint of it, so what a test changes is undone before the next one and every test sees
    the data as built. Only for tests that do not need it committed (no other process, no
    thread with its own connection reads it).
    """
    outer = transaction.atomic()
    # What Django's TestCase marks its own, so that durable blocks nest; a private attribute
    # the stubs do not declare.
    outer._from_testcase = True  # type: ignore[attr-defined]
    with django_db_blocker.unblock():
        outer.__enter__()
    try:
        with django_db_blocker.unblock():
            built = build()
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def appraised_but_one(world: Any, missing: str = "2.2") -> None:
    """Test set-up shortcut: both cases of `world` appraised and in appraisal, except
    criterion `missing` of STC (case B), so that only STP may be finalised."""
    for case in (world.case_a, world.case_b):
        fill_self_scores(case)
        appraise_all(case, world.appraiser)
        force_state(case, Case.State.APPRAISING)
    Score.objects.filter(case=world.case_b, criterion__code=missing).update(appraised_round=None)


def read_alone_with_criteria_held(
    read: Callable[[Case], list[Score]],
    first: Case,
    second: Case,
    facts: Callable[[Score], Any],
    joined: str,
) -> list[Any]:
    """A reader of score rows (`Case.score_rows`, the sheet's `case_scores`) on two cases of a
    frozen set: the second reads its rows in one query, without the criteria (`joined`, a
    piece of SQL of the join, is absent), and shares the first's criterion instances.
    Returns the facts of the second's rows, read within that one query."""
    held = {row.criterion_id: row.criterion for row in read(first)}
    with CaptureQueriesContext(connection) as queries:
        rows = read(second)
        seen = [facts(row) for row in rows]  # the criteria, headings and set: nothing more read
    assert len(queries) == 1
    assert joined not in queries[0]["sql"]
    assert all(row.criterion is held[row.criterion_id] for row in rows)
    return seen


def open_builtin_cycle(units: dict[str, int]) -> Cycle:
    """An open cycle of this year scored against the built-in criteria set of each level
    (`units`: a unit group's code, its number of units), opened by a superuser: cases on the
    real frameworks, for stories that compare two ways of reading them."""
    from cases import frameworks
    from cases.models import Unit, UnitGroup
    from cases.permissions import ensure_role_groups
    from workflow import cycle_services

    ensure_role_groups()
    secretariat = User.objects.create_user("s", is_superuser=True)
    today = timezone.localdate()
    cycle = Cycle.objects.create(
        year=today.year,
        title="Đợt thử",
        authority="UBND",
        self_assessment_due=today,
        appraisal_due=today.replace(year=today.year + 1),
    )
    for level, count in units.items():
        group = UnitGroup.objects.create(code=level, name=level)
        Unit.objects.bulk_create(
            Unit(code=f"{level}{i}", name=f"Đơn vị {level} {i}", group=group) for i in range(count)
        )
        frameworks.load_builtin(level, cycle=cycle, unit_group=group)
    cycle_services.open_cycle(cycle.pk, actor=secretariat)
    return cycle
