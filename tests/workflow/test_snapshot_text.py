"""A snapshot's text is written out beside its value, not encoded then decoded: the text
must be, byte for byte, the canonical text of the value it reads back as, which is what
`verify_audit` recomputes and hashes."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils.translation import gettext_lazy

from cases.models import Case, Score, ScoreRow
from tests.deadlines.helpers import SELF_DUE, at, set_cycle
from tests.helpers import fill_self_scores
from workflow import audit, services
from workflow.models import AuditEntry

# Texts the encoder escapes or leaves as they are: quotes, backslashes, controls, line
# breaks, Vietnamese, a character outside the basic plane, and the separators themselves.
AWKWARD = [
    'Báo cáo "số 12/BC-UBND"',
    "C:\\hồ sơ\\2026",
    "dòng một\ndòng hai\r\n\tthụt",
    "\x01\x1f\x7f",
    "điểm 😀 ✓",
    '{"note":"x"},[]:',
    "",
]


def awkward_scores(case: Case) -> None:
    """Every column of the case's score rows given values of every kind the text writes."""
    scores = list(Score.objects.filter(case=case).order_by("pk"))
    points = [None, Decimal("0"), Decimal("0.50"), Decimal("10.00"), Decimal("0.05")]
    for n, score in enumerate(scores):
        score.value = points[n % 5]
        score.self_score = points[(n + 1) % 5]
        score.appraised_score = points[(n + 2) % 5]
        score.appraised_round = None if n % 3 == 0 else n % 3
        score.not_applicable = n % 4 == 1
        score.note = AWKWARD[n % len(AWKWARD)]
        score.not_applicable_reason = AWKWARD[(n + 1) % len(AWKWARD)]
        score.evidence_explanation = AWKWARD[(n + 2) % len(AWKWARD)]
        score.appraised_comment = AWKWARD[(n + 3) % len(AWKWARD)]
    Score.objects.bulk_update(
        scores,
        [
            "value",
            "self_score",
            "appraised_score",
            "appraised_round",
            "not_applicable",
            "note",
            "not_applicable_reason",
            "evidence_explanation",
            "appraised_comment",
        ],
    )


def expected_rows(case: Case) -> list[dict[str, Any]]:
    """The rows of the snapshot format, spelled out from the score rows."""

    def points(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return [
        {
            "criterion": s.criterion.code,
            "max_points": str(s.criterion.max_points),
            "value": points(s.value),
            "self_score": points(s.self_score),
            "note": s.note,
            "not_applicable": s.not_applicable,
            "not_applicable_reason": s.not_applicable_reason,
            "evidence_explanation": s.evidence_explanation,
            "appraised_score": points(s.appraised_score),
            "appraised_comment": s.appraised_comment,
            "appraised_round": s.appraised_round,
        }
        for s in Score.objects.filter(case=case)
        .select_related("criterion")
        .order_by("criterion__position", "pk")
    ]


def fresh(case: Case) -> Case:
    return Case.objects.select_related("cycle", "unit").get(pk=case.pk)


def assert_canonical(snapshot: audit.Snapshot) -> None:
    assert snapshot.text == audit.canonical_json(snapshot.value)
    assert json.loads(snapshot.text) == snapshot.value


@pytest.mark.parametrize("batch", [False, True])
def test_the_snapshot_text_is_the_canonical_text_of_its_value(
    world: SimpleNamespace, batch: bool
) -> None:
    awkward_scores(world.case_a)
    case = fresh(world.case_a)
    if batch:
        audit.preload_snapshots([case])
    snapshot = audit.case_snapshot(case)
    assert_canonical(snapshot)
    assert snapshot.value["scores"] == expected_rows(case)
    assert set(snapshot.value) == {"case", "unit", "cycle", "state", "scores", "totals", "evidence"}
    assert (snapshot.value["case"], snapshot.value["unit"]) == (case.pk, case.unit.code)


def test_rows_of_unexpected_types_are_written_as_the_encoder_writes_them(
    world: SimpleNamespace,
) -> None:
    """Rows made in memory (not read from the table) may hold other types: a lazy text, a
    number for a flag, a round that is a flag, points that are not Decimals. Their text is
    still the canonical one."""
    case = fresh(world.case_a)
    audit.preload_snapshots([case])
    rows: list[ScoreRow] = case.snapshot_rows()
    odd: list[dict[str, Any]] = [
        {"note": gettext_lazy("Evidence")},
        {"not_applicable": 1},
        {"appraised_round": True},
        {"evidence_explanation": None},
        {"self_score": 1, "appraised_score": 3},
        {"value": 'một "nửa"'},
    ]
    case.__dict__["_snapshot_rows"] = [
        row._replace(**odd[n]) if n < len(odd) else row for n, row in enumerate(rows)
    ]
    snapshot = audit.case_snapshot(case)
    assert_canonical(snapshot)
    first, second, third, fourth, fifth, sixth = json.loads(snapshot.text)["scores"][:6]
    assert first["note"] == str(odd[0]["note"])  # the text the lazy one stands for
    assert (second["not_applicable"], third["appraised_round"]) == (1, True)
    assert fourth["evidence_explanation"] is None
    assert (fifth["self_score"], fifth["appraised_score"]) == ("1", "3")
    assert sixth["value"] == 'một "nửa"'


def test_a_batch_writes_each_row_as_a_case_alone_does_though_its_rows_repeat(
    world: SimpleNamespace,
) -> None:
    """The cases of a batch share their criteria and often their rows' values: a row that
    says what another of the batch said is written once. Rows that only compare equal (a
    flag and a number, a round and a flag, 0.5 and 0.50, a number and a Decimal) are still
    each written as they are, as a case snapshotted alone writes them."""
    for case in (world.case_a, world.case_b):
        awkward_scores(case)
    batch = [fresh(world.case_a), fresh(world.case_b)]
    audit.preload_snapshots(batch)
    rows: list[ScoreRow] = batch[1].snapshot_rows()
    # Each equal to the value of the same row of case A, which the batch wrote first.
    like: list[dict[str, Any]] = [
        {"not_applicable": int(rows[0].not_applicable)},
        {"appraised_round": True},
        {"value": Decimal("0.500")},
        {"value": 10},
        {"appraised_round": 1.0},
    ]
    first_rows = batch[0].snapshot_rows()
    for n, changes in enumerate(like):
        for column, changed in changes.items():
            assert changed == getattr(first_rows[n], column)
    batch[1].__dict__["_snapshot_rows"] = [
        row._replace(**like[n]) if n < len(like) else row for n, row in enumerate(rows)
    ]
    for case in batch:
        alone = fresh(case)
        alone.__dict__["_snapshot_rows"] = case.snapshot_rows()
        snapshot = audit.case_snapshot(case)
        assert snapshot.text == audit.case_snapshot(alone).text
        assert_canonical(snapshot)
    first, second, third, fourth, fifth = json.loads(audit.case_snapshot(batch[1]).text)["scores"][
        :5
    ]
    assert first["not_applicable"] == 0 and first["not_applicable"] is not False
    assert second["appraised_round"] is True
    assert (third["value"], fourth["value"]) == ("0.500", "10")
    assert type(fifth["appraised_round"]) is float


def written_entries(monkeypatch: pytest.MonkeyPatch) -> list[AuditEntry]:
    """The entries the audit INSERTs write, as they were when written."""
    seen: list[AuditEntry] = []
    insert = audit._insert_many_unless_taken

    def spy(entries: Any, **along: Any) -> list[AuditEntry]:
        seen.extend(entries)
        return insert(entries, **along)

    monkeypatch.setattr(audit, "_insert_many_unless_taken", spy)
    return seen


def stored_text(entry: AuditEntry) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT snapshot::text FROM workflow_auditentry WHERE id = %s", [entry.pk])
        text: str = cursor.fetchone()[0]
    return text


def assert_written_as_verified(entry: AuditEntry) -> None:
    """What the INSERT sent is the text verify_audit recomputes from the row read back and,
    on PostgreSQL, the very text the row holds (a `json` column keeps it as written)."""
    sent = entry.__dict__[audit.SNAPSHOT_TEXT]
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.snapshot is not None
    assert audit.canonical_json(stored.snapshot) == sent
    assert stored.snapshot_sha256 == hashlib.sha256(sent.encode()).hexdigest()
    assert stored.snapshot == entry.snapshot
    if connection.vendor == "postgresql":
        assert stored_text(entry) == sent


def test_one_transition_writes_the_text_verify_audit_recomputes(
    world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_self_scores(world.case_a, 0)
    Score.objects.filter(case=world.case_a).update(note=AWKWARD[2], appraised_comment=AWKWARD[0])
    seen = written_entries(monkeypatch)
    services.run_transition(world.case_a.pk, "submit", actor=world.head_a)
    (entry,) = [e for e in seen if e.action == "workflow.case.submit"]
    assert_written_as_verified(entry)
    assert audit.verify().problem == ""


def test_a_batch_of_locks_writes_the_texts_verify_audit_recomputes(
    world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_cycle(world.cycle, year=2026, self_assessment_due=SELF_DUE)
    awkward_scores(world.case_a)
    seen = written_entries(monkeypatch)
    system = User.objects.get(username="system")
    ids = [world.case_a.pk, world.case_b.pk]
    outcomes = list(
        services.run_transitions(ids, "lock_at_cutoff", actor=system, now=at(2026, 4, 1, 9))
    )
    assert outcomes == [(pk, None) for pk in sorted(ids)]
    assert sorted(e.case_id or 0 for e in seen) == sorted(ids)
    for entry in seen:
        assert_written_as_verified(entry)
    assert audit.verify().problem == ""


@pytest.mark.django_db
def test_snapshots_are_kept_as_written_and_compressed_with_lz4_on_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("column types and compression are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT format_type(atttypid, atttypmod), attcompression FROM pg_attribute "
            "WHERE attrelid = 'workflow_auditentry'::regclass AND attname = 'snapshot'"
        )
        assert cursor.fetchone() == ("json", "l")


def test_an_entry_saved_through_the_orm_reads_its_snapshot_back(world: SimpleNamespace) -> None:
    """Entries other than the services' (an import, the admin's history) are saved by the
    ORM, whose value is sent as `jsonb` into the `json` column: it reads back the same."""
    snapshot = {"case": world.case_a.pk, "tên": "điểm 😀", "scores": [{"value": "1.50"}]}
    entry = AuditEntry.objects.create(
        actor=world.head_a, action="test.snapshot", case=world.case_a, snapshot=snapshot
    )
    assert AuditEntry.objects.get(pk=entry.pk).snapshot == snapshot
    assert AuditEntry.objects.filter(pk=entry.pk).values_list("snapshot", flat=True)[0] == (
        snapshot
    )


def test_the_canonical_text_is_the_one_django_s_encoder_writes() -> None:
    """One encoder serves every canonical text, asked about a Decimal first: the text of
    entries already written is the text it writes."""
    data: Any = {  # what the encoder writes besides JSON: times, days, ids, lazy texts
        "points": [Decimal("0.50"), Decimal("10"), Decimal("-1.25E+3"), Decimal("NaN")],
        "at": datetime(2026, 3, 31, 23, 59, 59, 123456, tzinfo=UTC),
        "day": date(2026, 3, 31),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "lazy": gettext_lazy("Evidence"),
        "tên": "điểm 😀",
        "b": {"z": 1, "a": [True, None, 1.5]},
    }
    old = json.dumps(
        data, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    assert audit.canonical_json(data) == old
