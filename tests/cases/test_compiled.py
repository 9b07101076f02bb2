"""Reads compiled once (`cases.compiled`) must send what Django would send and give back the
same instances, on PostgreSQL here and on SQLite (the embedded default) in a subprocess:
the pages, the API's sign-in, every transition and every score save read through them."""

from __future__ import annotations

import gc
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.db.models import signals as models_signals
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token

from cases import compiled, models, permissions
from cases.compiled import Compiled
from cases.models import Case, Criterion, Score
from config import auth, sessions
from config.sessions import SessionStore
from deadlines import policy
from deadlines.models import Extension
from evidence import services as evidence_services
from evidence.models import Document, EvidenceLink
from notifications import rules as notification_rules
from notifications import services as notification_services
from notifications.models import Notification
from tests.factories import open_world
from tests.helpers import not_on_sqlite_already, pytest_on_sqlite
from web.pages import sheet
from web.shortcuts import case_page
from workflow import services

pytestmark = pytest.mark.django_db


def _fields(obj: Any) -> dict[str, Any]:
    """An instance as Django leaves it: its class, its state and every attribute it holds."""
    fields = {k: v for k, v in obj.__dict__.items() if k != "_state"}
    return {"class": type(obj), "db": obj._state.db, "adding": obj._state.adding, **fields}


def _same(found: list[Any], expected: list[Any]) -> None:
    assert [_fields(o) for o in found] == [_fields(o) for o in expected]


def _joined(obj: Any, depth: int = 3) -> dict[str, Any]:
    """The related instances select_related filled in, each as `_fields` shows it."""
    cache = obj._state.fields_cache if depth else {}
    return {
        name: None if other is None else {**_fields(other), "joined": _joined(other, depth - 1)}
        for name, other in cache.items()
    }


def _reads(w: Any) -> list[tuple[Compiled[Any], Any, tuple[Any, ...]]]:
    """Every compiled read of the product, with a key and arguments that find something."""
    head = w.head_a
    case = Case.objects.select_related("unit", "cycle").get(pk=w.case_a.pk)
    leaf = Score.objects.filter(case=case, criterion__is_leaf=True).select_related("criterion")[0]
    token = Token.objects.create(user=head)
    Extension.objects.create(
        case=case,
        kind=Extension.Kind.SELF_ASSESSMENT,
        previous_due=case.cycle.self_assessment_due,
        due_date=case.cycle.self_assessment_due + timedelta(days=5),
        reason="Thiên tai",
        granted_by=w.secretariat,
    )
    Notification.objects.create(recipient=head, kind="case.submitted", text_vi="a", text_en="a")
    document = Document.objects.create(
        case=case,
        storage_key="k/1",
        sha256="0" * 64,
        size=10,
        content_type="application/pdf",
        kind="pdf",
        filename="kế hoạch.pdf",
        uploaded_by=head,
    )
    EvidenceLink.objects.create(
        case=case, document=document, criterion=leaf.criterion, version=1, created_by=head
    )
    session = SessionStore()
    session["x"] = 1
    session.create()
    shape_key = (case_page, "edit_self_score", ("submit_case",), False, None, True)
    lock_key = (
        services._locking_query,
        "submit_case",
        (),
        False,
        frozenset({"view_case"}),
        False,
    )
    evidence_key = (
        evidence_services._locked_case_for_change,
        "view_case",
        evidence_services._CHANGE_PERMS,
        False,
        None,
        False,
    )
    return [
        (auth._TOKEN, (), (token.key,)),
        (permissions._CASE, shape_key, (case.pk, head.pk)),
        (permissions._CASE, lock_key, (case.pk, head.pk)),
        (permissions._CASE, evidence_key, (case.pk, head.pk)),
        (sheet._FRAMEWORK, (), (case.cycle_id, case.unit.group_id)),
        (sheet._CRITERIA, (), (Criterion.objects.filter(scores__case=case)[0].framework_id,)),
        (sheet._SCORES, (), (case.pk,)),
        (sheet._EVIDENCE, (), (case.pk,)),
        (models._SCORE_ROWS, (), (case.pk,)),
        (models._SCORE_ROWS_ALONE, (), (case.pk,)),
        (models._SNAPSHOT_ROWS, (), (case.pk,)),
        (
            services._LEAF_SCORE,
            (),
            (case.pk, case.cycle_id, case.unit.group_id, leaf.criterion.code),
        ),
        (policy._SELF_EXTENSION, (), (case.pk,)),
        (evidence_services._CURRENT_OF_ONE, (), (case.pk,)),
        (
            evidence_services._LEAF,
            (),
            (case.cycle_id, case.unit.group_id, leaf.criterion.code),
        ),
        (evidence_services._LAST_VERSION, (), (case.pk, leaf.criterion_id)),
        (notification_services._UNREAD, (), (head.pk,)),
        (notification_rules._ROLE_MEMBERS, (), (permissions.SECRETARIAT,)),
        (notification_rules._UNIT_MEMBERS, (), (case.unit_id,)),
        (notification_rules._APPRAISERS_OUTSIDE, (), (case.cycle_id, case.unit_id)),
        (sessions._SESSION, (), (session.session_key, timezone.now())),
    ]


@transaction.atomic
def test_every_compiled_read_sends_what_django_would_and_finds_the_same_rows() -> None:
    w = open_world()
    reads = _reads(w)
    # type(), not isinstance(): the collector also holds weak proxies, and isinstance() on
    # one whose object is gone raises.
    in_product = {
        id(o)
        for o in gc.get_objects()
        if type(o) is Compiled and not o._build.__module__.startswith("tests.")
    }
    assert in_product <= {id(read) for read, _key, _values in reads}, "a read left unchecked"
    for read, key, values in reads:
        expected_qs = read._build(key, *values)
        assert read.sql(key, *values) == expected_qs.query.sql_with_params()
        expected = list(expected_qs)
        assert expected, f"{read._build} finds nothing: the comparison would be vacuous"
        if isinstance(expected[0], tuple):  # a values_list
            assert read.rows(key, *values) == expected
            continue
        found = read(key, *values)
        _same(found, expected)
        # what select_related joined, at every depth, comes back as Django would build it
        assert [_joined(o) for o in found] == [_joined(o) for o in expected]


def test_a_unit_head_reads_the_case_the_same_way_the_second_time() -> None:
    """The second call uses the plan the first made: same SQL, new values in it."""
    w = open_world()
    first = permissions.get_case_for_user(w.head_a, w.case_a.pk, "view_case", case_page)
    other = permissions.get_case_for_user(w.head_b, w.case_b.pk, "view_case", case_page)
    assert (first.pk, first.unit.code, first.unit.group.code) == (w.case_a.pk, "STP", "khoi_so")
    assert (other.pk, other.unit.code) == (w.case_b.pk, "STC")
    with pytest.raises(permissions.NotFound):
        permissions.get_case_for_user(w.head_a, w.case_b.pk, "view_case", case_page)
    with pytest.raises(permissions.NotFound):
        permissions.get_case_for_user(w.head_a, "không-phải-số", "view_case", case_page)


@pytest.mark.django_db(transaction=True)
def test_a_locking_read_is_refused_outside_a_transaction() -> None:
    w = open_world()
    case = w.case_a
    if not connection.features.has_select_for_update:
        pytest.skip("SQLite locks no row: Django refuses nothing there either")
    with pytest.raises(TransactionManagementError):
        services._LEAF_SCORE((), case.pk, case.cycle_id, case.unit.group_id, "1.1")


def test_a_read_whose_argument_the_sql_changes_is_refused_when_compiled() -> None:
    read: Compiled[Criterion] = Compiled(
        lambda _key, words: Criterion.objects.filter(title__contains=words)
    )
    with pytest.raises(ValueError, match="do not reach its SQL unchanged"):
        read((), "cải cách")


def test_other_arguments_than_integers_texts_and_aware_datetimes_are_refused() -> None:
    read: Compiled[Score] = Compiled(lambda _key, case: Score.objects.filter(case_id=case))
    with pytest.raises(TypeError):
        read((), 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        read((), datetime(2027, 3, 31, 17, 0))  # naive: which zone?


def test_an_expired_session_is_not_read() -> None:
    """The session's datetime argument goes into the SQL as the database takes it."""
    session = SessionStore()
    session["unit"] = "STP"
    session.create()
    assert SessionStore(session.session_key).load() == {"unit": "STP"}
    Session.objects.filter(pk=session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert SessionStore(session.session_key).load() == {}


def test_past_its_shapes_a_read_is_compiled_each_time_and_still_right(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = open_world()
    monkeypatch.setattr(compiled, "MAX_SHAPES", 1)
    read: Compiled[Score] = Compiled(
        lambda leaf_only, case: Score.objects.filter(case_id=case, criterion__is_leaf=leaf_only)
    )
    assert len(read(True, w.case_a.pk)) == Score.objects.filter(case=w.case_a).count()
    assert read(False, w.case_a.pk) == []
    assert len(read._plans) == 1


def test_a_read_of_a_model_someone_listens_to_at_init_builds_it_as_django_does() -> None:
    """Instances of plain models skip `Model.__init__`; a receiver of post_init (as an
    ImageField connects) still hears of every instance, the joined ones too."""
    w = open_world()
    heard: list[type] = []

    def listen(sender: type, instance: Any, **kwargs: Any) -> None:
        heard.append(type(instance))

    read: Compiled[Score] = Compiled(
        lambda _key, case: Score.objects.filter(case_id=case).select_related("criterion")
    )
    models_signals.post_init.connect(listen, sender=Criterion)
    try:
        scores = read((), w.case_a.pk)
    finally:
        models_signals.post_init.disconnect(listen, sender=Criterion)
    assert scores and heard == [Criterion] * len(scores)


@pytest.mark.django_db(transaction=True)
def test_a_read_compiled_on_one_thread_runs_on_another_threads_connection() -> None:
    w = open_world()
    read: Compiled[Score] = Compiled(lambda _key, case: Score.objects.filter(case_id=case))
    found: list[int] = []

    def compile_there() -> None:
        try:
            found.append(len(read((), w.case_a.pk)))
        finally:
            connection.close()

    thread = threading.Thread(target=compile_there)
    thread.start()
    thread.join()
    assert read._plans, "the other thread compiled the read"
    with CaptureQueriesContext(connection) as here:
        again = read((), w.case_b.pk)
    assert len(here) == 1  # sent on this thread's connection, not the other's closed one
    assert found and len(again) == found[0] > 0


@not_on_sqlite_already
def test_the_compiled_reads_agree_with_django_on_sqlite_as_well() -> None:
    # one in-memory database per connection: not the test of threads
    result = pytest_on_sqlite("-k", "not threads and not sqlite_as_well", __file__)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "7 passed, 1 skipped" in result.stdout  # the lock refusal: none on SQLite
