"""The embedded default as `make run` serves it: SQLite and uvicorn (scripts/serve.sh).

The test suite runs on PostgreSQL; what the embedded default must do is tested on it: one
fresh installation in a folder of its own (tests/ops/conftest.py), served by `make run`'s
server in a process of its own, and read back from its database file afterwards.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections import Counter
from pathlib import Path

import requests
from websockets.sync.client import connect

from bench.embedded import (
    NOTE,
    all_at_once,
    database,
    manage,
    save_and_submit,
)
from bench.evidence import _make_file, _multipart_post, _reset_peak, _status_kb
from tests.ops.helpers import UPLOAD_MB, Embedded

UNITS = 8
MB = 1024 * 1024


def test_eight_units_saving_scores_and_submitting_at_the_same_moment_all_succeed(
    embedded: Embedded,
) -> None:
    var_dir, served = embedded.var_dir, embedded.served
    units = embedded.units[:UNITS]
    answers, seconds = all_at_once(units, lambda unit: save_and_submit(served.base, unit))

    statuses = Counter((a.what, a.status) for a in answers)
    saves = sum(len(u.codes) for u in units)
    print(f"\n{UNITS} units, {saves} saves and {UNITS} submits at once: {seconds:.1f} s {statuses}")
    assert statuses == {("save", 200): saves, ("submit", 200): UNITS}, [
        a for a in answers if a.status != 200
    ][:5]

    db = database(var_dir)
    cases = [u.case for u in units]
    marks = ",".join("?" * len(cases))
    # Every write is there: each leaf's note, each case submitted.
    notes = {
        (case, code): note
        for case, code, note in db.execute(
            "SELECT s.case_id, c.code, s.note FROM cases_score s "
            f"JOIN cases_criterion c ON c.id = s.criterion_id WHERE s.case_id IN ({marks})",
            cases,
        )
    }
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
    result = manage(var_dir, "verify_audit")
    assert result.returncode == 0, result.stderr
    assert "Audit chain intact" in result.stdout


def test_make_run_serves_pages_static_files_and_the_live_push_with_debug_off(
    embedded: Embedded,
) -> None:
    var_dir, served, unit = embedded.var_dir, embedded.served, embedded.spare
    http = requests.Session()
    # The session was made by another process (manage.py): the server signs with the key
    # that the first run generated and kept with the installation.
    key_file = var_dir / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_text()) >= 50
    http.cookies.set("sessionid", unit.session)
    page = http.get(f"{served.base}/cases/{unit.case}/", timeout=30, allow_redirects=False)
    assert page.status_code == 200
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert {Path(a).suffix for a in assets} >= {".css", ".js"}
    for asset in assets:
        assert http.get(f"{served.base}{asset}", timeout=30).status_code == 200, asset

    # DEBUG is off: an unknown address gets the plain page, not Django's technical one.
    missing = http.get(f"{served.base}/no-such-page/", timeout=30)
    assert missing.status_code == 404
    assert "URLconf" not in missing.text and "DEBUG = True" not in missing.text

    # The live push: the page's WebSocket is served by the same process, opened with a
    # ticket the page asks for with its session (and its CSRF token), as app.js does.
    csrf = http.cookies["csrftoken"]
    assert csrf is not None
    asked = http.post(
        f"{served.base}/api/v1/notifications/socket-ticket/",
        headers={"X-CSRFToken": csrf},
        timeout=30,
    )
    assert asked.status_code == 201, asked.text
    with connect(
        f"ws{served.base.removeprefix('http')}/ws/notifications/?ticket={asked.json()['ticket']}",
        additional_headers={"Origin": served.base},
        open_timeout=30,
    ) as socket:
        assert json.loads(socket.recv(timeout=30))["type"] == "hello"


def test_a_200_mb_upload_grows_the_server_by_less_than_64_mb(
    embedded: Embedded, tmp_path: Path
) -> None:
    var_dir, served, unit = embedded.var_dir, embedded.served, embedded.spare
    file = _make_file(tmp_path, UPLOAD_MB)
    before = _status_kb(served.pid, "VmRSS")
    _reset_peak(served.pid)
    port = int(served.base.rsplit(":", 1)[1])
    path = f"/api/v1/cases/{unit.case}/evidence/"
    status, body = _multipart_post(port, path, unit.token, unit.codes[0], file)
    growth_mb = (_status_kb(served.pid, "VmHWM") - before) / 1024
    print(f"\n{UPLOAD_MB} MB upload: the server grew by {growth_mb:.1f} MB at its peak")
    assert status == 201, body
    stored = [p for p in (var_dir / "evidence").rglob("*") if p.is_file()]
    assert UPLOAD_MB * MB in [p.stat().st_size for p in stored]
    assert growth_mb < 64
    os.unlink(file)
