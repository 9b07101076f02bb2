"""Request bodies are checked before they are read (config/bodies.py), on `make run`'s server.

A body the server reads is written somewhere (memory, then a temporary file): what the
server process read and wrote is taken from /proc/PID/io around each refusal.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path

import requests

from bench.embedded import database, manage
from bench.evidence import _make_file
from tests.ops.helpers import IDLE_SECONDS, UPLOAD_MB, Embedded

MB = 1024 * 1024


def io_bytes(pid: int) -> tuple[int, int]:
    """Bytes the process has read and written so far (sockets and files alike)."""
    fields = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return int(fields["rchar"]), int(fields["wchar"])


def start_request(
    base: str, method: str, path: str, length: int, headers: dict[str, str]
) -> http.client.HTTPConnection:
    """Send a request's head declaring `length` bytes of body, and none of the body yet."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.putrequest(method, path)
    for name, value in {"Content-Length": str(length), **headers}.items():
        conn.putheader(name, value)
    conn.endheaders()
    return conn


def answer(conn: http.client.HTTPConnection) -> tuple[int, float, str]:
    started = time.monotonic()
    response = conn.getresponse()
    body = response.read().decode()
    return response.status, time.monotonic() - started, body


def test_a_declared_body_over_the_limit_is_refused_at_once_naming_the_limit(
    embedded: Embedded,
) -> None:
    unit, pid = embedded.spare, embedded.served.pid
    token = {"Authorization": f"Token {unit.token}"}
    embedded.settle()
    documents = "SELECT count(*) FROM evidence_document"
    documents_before = database(embedded.var_dir).execute(documents).fetchone()[0]
    read_before, written_before = io_bytes(pid)

    upload = f"/api/v1/cases/{unit.case}/evidence/"
    conn = start_request(embedded.served.base, "POST", upload, 300 * MB, token)
    status, seconds, body = answer(conn)
    assert (status, json.loads(body)) == (
        413,
        {"detail": f"Tệp vượt quá giới hạn {UPLOAD_MB + 10} MB.", "errors": []},
    )
    assert seconds < 5

    english = {**token, "Accept-Language": "en"}
    conn = start_request(embedded.served.base, "POST", upload, 300 * MB, english)
    assert json.loads(answer(conn)[2])["detail"] == (
        f"The file is larger than the limit of {UPLOAD_MB + 10} MB."
    )
    # Everything else takes a small body.
    score = f"/api/v1/cases/{unit.case}/scores/{unit.codes[0]}/"
    conn = start_request(embedded.served.base, "PUT", score, 5 * MB, token)
    status, _seconds, body = answer(conn)
    assert (status, json.loads(body)["detail"]) == (413, "Yêu cầu vượt quá giới hạn 3 MB.")
    # A page gets a page, in the language chosen with the switch.
    page = f"/cases/{unit.case}/evidence/"
    cookies = {"Cookie": f"sessionid={unit.session}; django_language=en"}
    conn = start_request(embedded.served.base, "POST", page, 300 * MB, cookies)
    status, _seconds, body = answer(conn)
    assert status == 413 and "The file is larger than the limit of 210 MB." in body
    assert "<html" in body

    read, written = io_bytes(pid)
    assert read - read_before < MB and written - written_before < MB
    assert database(embedded.var_dir).execute(documents).fetchone()[0] == documents_before


def test_an_anonymous_large_body_gets_401_without_being_read(embedded: Embedded) -> None:
    unit, pid = embedded.spare, embedded.served.pid
    upload = f"/api/v1/cases/{unit.case}/evidence/"
    read_before, written_before = io_bytes(pid)
    for headers in ({}, {"Authorization": "Token not-a-token"}, {"Cookie": "sessionid=forged"}):
        conn = start_request(embedded.served.base, "POST", upload, 100 * MB, headers)
        # A first part of the body; the server answers without waiting for (or reading) more.
        conn.send(b"x" * (64 * 1024))
        status, seconds, body = answer(conn)
        assert (status, json.loads(body)["detail"]) == (
            401,
            "Vui lòng đăng nhập trước: hệ thống chưa nhận nội dung bạn gửi.",
        )
        assert seconds < 5
    read, written = io_bytes(pid)
    assert read - read_before < MB and written - written_before < MB


def _integration_token(embedded: Embedded, script: str) -> str:
    """Run `script` in the installation, with `user` the spare unit's head; its last line."""
    unit = embedded.spare
    done = manage(
        embedded.var_dir,
        "shell",
        "-c",
        "from rest_framework.authtoken.models import Token\n"
        "from config.auth import create_integration_token, revoke_integration_token\n"
        f"user = Token.objects.get(key={unit.token!r}).user\n{script}",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_an_integration_sends_its_scans_with_the_token_made_in_the_pages_until_revoked(
    embedded: Embedded, tmp_path: Path
) -> None:
    """The unit's document system signs in with an integration token (`Bearer par_…`), not
    a sign-in token: its scans, far over the few kilobytes taken from anyone, are let
    through as the API signs it in, and refused unread once the head revokes it."""
    unit = embedded.spare
    pk, key = _integration_token(
        embedded,
        "token, key = create_integration_token(user, 'Hệ thống quản lý văn bản')\n"
        "print(token.pk, key)",
    ).split()
    upload = f"{embedded.served.base}/api/v1/cases/{unit.case}/evidence/"
    bearer = {"Authorization": f"Bearer {key}"}
    scan = _make_file(tmp_path, 1)
    with scan.open("rb") as pdf:
        sent = requests.post(
            upload,
            headers=bearer,
            data={"criterion": unit.codes[2]},
            files={"file": ("Quyết định ban hành kế hoạch.pdf", pdf, "application/pdf")},
            timeout=60,
        )
    assert sent.status_code == 201, sent.text
    assert sent.json()["size"] == scan.stat().st_size

    _integration_token(embedded, f"revoke_integration_token(user, {pk})\nprint('revoked')")
    embedded.settle()
    pid = embedded.served.pid
    read_before, written_before = io_bytes(pid)
    conn = start_request(
        embedded.served.base, "POST", upload.removeprefix(embedded.served.base), 50 * MB, bearer
    )
    conn.send(b"x" * (64 * 1024))
    status, _seconds, body = answer(conn)
    assert (status, json.loads(body)["detail"]) == (
        401,
        "Vui lòng đăng nhập trước: hệ thống chưa nhận nội dung bạn gửi.",
    )
    read, written = io_bytes(pid)
    assert read - read_before < MB and written - written_before < MB


def test_a_client_that_stops_sending_is_cut_off_while_others_are_served(
    embedded: Embedded,
) -> None:
    unit = embedded.spare
    embedded.settle()
    documents = "SELECT count(*) FROM evidence_document"
    before = database(embedded.var_dir).execute(documents).fetchone()[0]
    upload = f"/api/v1/cases/{unit.case}/evidence/"
    conn = start_request(
        embedded.served.base, "POST", upload, 20 * MB, {"Authorization": f"Token {unit.token}"}
    )
    conn.send(b"x" * MB)  # then nothing more
    outcome: list[tuple[int, float, str]] = []
    waiting = threading.Thread(target=lambda: outcome.append(answer(conn)))
    started = time.monotonic()
    waiting.start()
    # Meanwhile another user is served as usual.
    page = requests.get(
        f"{embedded.served.base}/cases/{embedded.units[0].case}/",
        cookies={"sessionid": embedded.units[0].session},
        timeout=10,
    )
    assert page.status_code == 200 and time.monotonic() - started < IDLE_SECONDS
    waiting.join(timeout=30)
    status, _seconds, body = outcome[0]
    cut_after = time.monotonic() - started
    assert status == 408 and "Kết nối quá chậm" in json.loads(body)["detail"]
    assert IDLE_SECONDS - 0.5 < cut_after < IDLE_SECONDS + 5
    assert conn.sock is None or conn.sock.recv(1) == b""  # the connection is closed
    assert database(embedded.var_dir).execute(documents).fetchone()[0] == before


def test_a_chunked_body_is_counted_as_it_arrives(embedded: Embedded) -> None:
    unit = embedded.spare
    score = f"/api/v1/cases/{unit.case}/scores/{unit.codes[0]}/"
    host, port = embedded.served.base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.putrequest("PUT", score)
    conn.putheader("Authorization", f"Token {unit.token}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    for size in (MB, MB, MB, 64 * 1024):  # no length declared: 3 MB and a bit, in chunks
        conn.send(b"%x\r\n%s\r\n" % (size, b" " * size))
    status, _seconds, body = answer(conn)
    assert (status, json.loads(body)["detail"]) == (413, "Yêu cầu vượt quá giới hạn 3 MB.")


def test_a_four_mb_workbook_reaches_its_import_and_one_over_its_limit_is_refused_at_once(
    embedded: Embedded,
) -> None:
    """The units-and-accounts import reads workbooks up to 5 MB: the layer in front lets a
    4 MB file through to the view (which answers for itself) and refuses 7 MB at once."""
    unit = embedded.spare
    token = {"Authorization": f"Token {unit.token}"}
    through = requests.post(
        f"{embedded.served.base}/api/v1/units/import/",
        files={"file": ("don-vi.xlsx", b"x" * (4 * MB))},
        headers=token,
        timeout=30,
    )
    assert through.status_code == 403  # read whole, then refused by the view: a unit's staff
    conn = start_request(embedded.served.base, "POST", "/api/v1/units/import/", 7 * MB, token)
    status, seconds, body = answer(conn)
    assert (status, json.loads(body)["detail"]) == (413, "Tệp vượt quá giới hạn 5 MB.")
    assert seconds < 5
