"""DRF's own refusals (a field's validation, missing or malformed credentials) reach the API's
user in Vietnamese, the API's default and what `Accept-Language: vi` asks for, from the
project's catalogue (config/drf_messages.py); `Accept-Language: en` keeps DRF's English."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cases.models import AppraiserAssignment
from evidence.models import Document
from tests.helpers import api

SCORE = "/api/v1/cases/{case}/scores/1.1.1/"


def scores(world: SimpleNamespace) -> list[tuple[Any, ...]]:
    rows = world.case_a.scores.values_list("pk", "self_score", "note", "not_applicable", "version")
    return sorted(rows)


@pytest.mark.parametrize(
    ("body", "vietnamese", "english"),
    [
        (
            {"self_score": 1, "note": "Kế hoạch số 12\x00"},
            "note: Không được chứa ký tự NUL.",
            "note: Null characters are not allowed.",
        ),
        (
            {"self_score": 1, "version": "hai"},
            "version: Cần nhập một số nguyên hợp lệ.",
            "version: A valid integer is required.",
        ),
        (
            {"self_score": 1, "note": {"text": "Kế hoạch"}},
            "note: Không phải là chuỗi ký tự hợp lệ.",
            "note: Not a valid string.",
        ),
        (
            {"not_applicable": "có lẽ"},
            "not_applicable: Phải là giá trị đúng/sai hợp lệ (true hoặc false).",
            "not_applicable: Must be a valid boolean.",
        ),
    ],
    ids=["nul", "not-an-integer", "object-for-a-text", "not-a-flag"],
)
def test_a_unit_sending_a_bad_score_field_is_told_in_vietnamese_and_nothing_changes(
    world: SimpleNamespace, body: dict[str, Any], vietnamese: str, english: str
) -> None:
    before = scores(world)
    url = SCORE.format(case=world.case_a.pk)
    client = api(world.staff_a)

    response = client.put(url, body, format="json", headers={"Accept-Language": "vi"})
    assert response.status_code == 400
    assert response.json() == {"detail": "Dữ liệu gửi lên không hợp lệ.", "errors": [vietnamese]}

    response = client.put(url, body, format="json", headers={"Accept-Language": "en"})
    assert response.json() == {"detail": "The data sent is not valid.", "errors": [english]}
    assert scores(world) == before


def test_the_secretariat_sending_a_too_long_area_code_is_told_its_limit_in_vietnamese(
    world: SimpleNamespace,
) -> None:
    before = list(AppraiserAssignment.objects.values_list("pk", "user", "area_code"))
    url = f"/api/v1/cycles/{world.cycle.pk}/assignments/"
    body = {"user": world.appraiser.username, "area_code": "1" * 21}

    response = api(world.secretariat).post(
        url, body, format="json", headers={"Accept-Language": "vi"}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == ["area_code: Trường này không được dài quá 20 ký tự."]

    response = api(world.secretariat).post(
        url, body, format="json", headers={"Accept-Language": "en"}
    )
    assert response.json()["errors"] == [
        "area_code: Ensure this field has no more than 20 characters."
    ]
    assert list(AppraiserAssignment.objects.values_list("pk", "user", "area_code")) == before


def test_a_request_without_credentials_is_asked_to_sign_in_in_vietnamese(
    world: SimpleNamespace,
) -> None:
    client = APIClient()
    response = client.get("/api/v1/cases/", headers={"Accept-Language": "vi"})
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Chưa có thông tin xác thực: hãy đăng nhập hoặc gửi kèm mã truy cập.",
        "errors": [],
    }
    # Without the header the API speaks Vietnamese too; English on request.
    assert client.get("/api/v1/cases/").json() == response.json()
    assert client.get("/api/v1/cases/", headers={"Accept-Language": "en"}).json() == {
        "detail": "Authentication credentials were not provided.",
        "errors": [],
    }


def test_a_token_header_with_a_space_in_the_token_is_refused_in_vietnamese(
    world: SimpleNamespace,
) -> None:
    before = scores(world)
    response = APIClient().put(
        SCORE.format(case=world.case_a.pk),
        {"self_score": 1},
        format="json",
        headers={"Authorization": "Token abc def", "Accept-Language": "vi"},
    )
    assert response.status_code == 401
    assert response.json()["detail"] == (
        "Tiêu đề xác thực Token không hợp lệ: mã truy cập không được chứa dấu cách."
    )
    assert scores(world) == before


def test_a_wrong_password_for_a_token_is_refused_in_vietnamese(world: SimpleNamespace) -> None:
    tokens = list(Token.objects.values_list("key", flat=True))
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": world.staff_a.username, "password": "not the password"},
        format="json",
        headers={"Accept-Language": "vi"},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == ["Không thể đăng nhập với thông tin đã cung cấp."]
    assert list(Token.objects.values_list("key", flat=True)) == tokens


@pytest.mark.parametrize(
    ("body", "vietnamese", "english"),
    [
        (
            b'{"self_score": 1,\n "note": "K\xe1\xba\xbf ho\xe1\xba\xa1ch}',
            "Dữ liệu gửi lên không phải là JSON hợp lệ: một chuỗi thiếu dấu ngoặc kép đóng "
            "(dòng 2, cột 10).",
            "The data sent is not valid JSON: a text has no closing double quote "
            "(line 2, column 10).",
        ),
        (
            b'{"self_score": 1 "note": ""}',
            "Dữ liệu gửi lên không phải là JSON hợp lệ: thiếu dấu phẩy (dòng 1, cột 18).",
            "The data sent is not valid JSON: a comma is missing (line 1, column 18).",
        ),
        (
            b'{"self_score": 1,}',
            "Dữ liệu gửi lên không phải là JSON hợp lệ: cần một tên đặt trong dấu ngoặc kép, "
            "hoặc có dấu phẩy thừa trước dấu ngoặc nhọn đóng (dòng 1, cột 18).",
            "The data sent is not valid JSON: a name in double quotes is expected, or a comma "
            "is left before a closing brace (line 1, column 18).",
        ),
        (
            b'{"note": "K\xea ho\xe1ch"}',  # Latin-1, not UTF-8
            "Dữ liệu gửi lên không phải là văn bản mã hóa utf-8.",
            "The data sent is not text encoded in utf-8.",
        ),
    ],
    ids=["unclosed-text", "missing-comma", "trailing-comma", "not-utf-8"],
)
def test_a_malformed_json_body_is_refused_in_vietnamese_naming_where_it_breaks(
    world: SimpleNamespace, body: bytes, vietnamese: str, english: str
) -> None:
    before = scores(world)
    url = SCORE.format(case=world.case_a.pk)
    client = api(world.staff_a)
    for language, expected in (("vi", vietnamese), ("en", english)):
        response = client.put(
            url, body, content_type="application/json", headers={"Accept-Language": language}
        )
        assert response.status_code == 400
        assert response.json() == {"detail": expected, "errors": []}
    assert scores(world) == before


@pytest.mark.parametrize(
    ("body", "vietnamese"),
    [
        (
            b'{"title": "B\xe1\xbb\x99 ti\xc3\xaau ch\xc3\xad",}',
            "cần một tên đặt trong dấu ngoặc kép",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "Dữ liệu JSON gửi lên lồng nhau quá sâu."),
        (b'{"max_points": NaN}', "NaN không phải là một số mà JSON cho phép."),
    ],
    ids=["trailing-comma", "nested", "nan"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("patch", "/api/v1/frameworks/{pk}/"),
        ("post", "/api/v1/frameworks/{pk}/criteria/"),
        ("patch", "/api/v1/frameworks/{pk}/criteria/1.1/"),
    ],
)
def test_the_criteria_editor_refuses_broken_json_in_vietnamese_not_with_a_500(
    world: SimpleNamespace, method: str, path: str, body: bytes, vietnamese: str
) -> None:
    framework = world.cycle.frameworks.get()
    criteria = sorted(framework.criteria.values_list("pk", "code", "title", "max_points"))
    response = getattr(api(world.secretariat), method)(
        path.format(pk=framework.pk),
        body,
        content_type="application/json",
        headers={"Accept-Language": "vi"},
    )
    assert response.status_code == 400
    assert vietnamese in response.json()["detail"]
    framework.refresh_from_db()
    assert sorted(framework.criteria.values_list("pk", "code", "title", "max_points")) == criteria


def test_an_upload_without_its_multipart_boundary_is_refused_in_vietnamese(
    world: SimpleNamespace,
) -> None:
    documents = Document.objects.count()
    url = f"/api/v1/cases/{world.case_a.pk}/evidence/"
    client = api(world.staff_a)
    for language, expected in (
        (
            "vi",
            "Không đọc được dữ liệu biểu mẫu đã gửi: dữ liệu không đúng định dạng "
            "multipart/form-data (tệp phải được gửi kèm boundary trong tiêu đề Content-Type).",
        ),
        (
            "en",
            "The form data sent cannot be read: it is not well-formed multipart/form-data "
            "(a file is sent with its boundary in the Content-Type).",
        ),
    ):
        response = client.post(
            url,
            b"%PDF-1.4",
            content_type="multipart/form-data",
            headers={"Accept-Language": language},
        )
        assert response.status_code == 400
        assert response.json() == {"detail": expected, "errors": []}
    assert Document.objects.count() == documents


def test_a_page_session_without_its_csrf_token_is_refused_in_vietnamese(
    world: SimpleNamespace,
) -> None:
    before = scores(world)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.staff_a)
    url = SCORE.format(case=world.case_a.pk)
    for language, expected in (
        (
            "vi",
            "Mã bảo mật của trang bị thiếu hoặc đã hết hiệu lực: hãy tải lại trang rồi thử lại.",
        ),
        (
            "en",
            "The page's security token is missing or out of date: reload the page and try again.",
        ),
    ):
        response = browser.put(
            url,
            {"self_score": 1},
            content_type="application/json",
            headers={"Accept-Language": language},
        )
        assert response.status_code == 403
        assert response.json() == {"detail": expected, "errors": []}
    assert scores(world) == before


APPS = (
    "cases",
    "config",
    "deadlines",
    "evidence",
    "notifications",
    "ops",
    "results",
    "web",
    "workflow",
)


def test_views_parse_bodies_with_the_parsers_that_refuse_in_the_users_language() -> None:
    """DRF's JSONParser and MultiPartParser refuse in English (and the first lets a deeply
    nested body through to a 500); cases/inputs.py wraps them."""
    root = Path(__file__).resolve().parents[2]
    drf_parser = re.compile(r"(?<!Strict)JSONParser\b|\bMultiPartParser\b")
    users = [
        str(source.relative_to(root))
        for app in APPS
        for source in (root / app).rglob("*.py")
        if source != root / "cases" / "inputs.py" and drf_parser.search(source.read_text())
    ]
    assert users == []
