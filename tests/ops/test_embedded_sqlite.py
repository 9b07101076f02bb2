"""The embedded default on SQLite: units saving and submitting at the same moment.

The test suite runs on PostgreSQL; what SQLite must do is tested on SQLite itself: a fresh
installation in a folder of its own, served by `make run`'s server in a process of its own,
and read back from its database file afterwards.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bench.embedded import (
    NOTE,
    all_at_once,
    database,
    embedded_server,
    manage,
    prepare,
    save_and_submit,
)

UNITS = 8


def test_eight_units_saving_scores_and_submitting_at_the_same_moment_all_succeed(
    tmp_path: Path,
) -> None:
    units = prepare(tmp_path, UNITS)
    with embedded_server(tmp_path) as base:
        answers, seconds = all_at_once(units, lambda unit: save_and_submit(base, unit))

    statuses = Counter((a.what, a.status) for a in answers)
    saves = sum(len(u.codes) for u in units)
    print(
        f"\n{UNITS} units, {saves} saves and {UNITS} submits at once in {seconds:.1f} s: {dict(statuses)}"
    )
    assert statuses == {("save", 200): saves, ("submit", 200): UNITS}, [
        a for a in answers if a.status != 200
    ][:5]

    db = database(tmp_path)
    cases = [u.case for u in units]
    marks = ",".join("?" * len(cases))
    # Every write is there: each leaf's note, each case submitted.
    notes = dict(
        ((case, code), note)
        for case, code, note in db.execute(
            "SELECT s.case_id, c.code, s.note FROM cases_score s "
            f"JOIN cases_criterion c ON c.id = s.criterion_id WHERE s.case_id IN ({marks})",
            cases,
        )
    )
    for unit in units:
        for code in unit.codes:
            assert notes[unit.case, code] == NOTE.format(case=unit.case, code=code)
    states = Counter(
        state
        for (state,) in db.execute(f"SELECT state FROM cases_case WHERE id IN ({marks})", cases)
    )
    assert states == {"submitted": UNITS}
    # ...once: one audit entry per save and one per submit, the chain intact.
    saved = Counter(
        db.execute(
            "SELECT case_id, object_id FROM workflow_auditentry WHERE action = ?",
            ["cases.score.self_changed"],
        )
    )
    assert len(saved) == saves and set(saved.values()) == {1}
    submitted = Counter(
        case
        for (case,) in db.execute(
            "SELECT case_id FROM workflow_auditentry WHERE action = ?", ["workflow.case.submit"]
        )
    )
    assert submitted == Counter(cases)
    result = manage(tmp_path, "verify_audit")
    assert result.returncode == 0, result.stderr
    assert "Audit chain intact" in result.stdout
