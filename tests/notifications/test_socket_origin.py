"""Which pages may open the live push: the handshake's Origin is compared with the site's own
scheme, host and port, or with CSRF_TRUSTED_ORIGINS, exactly as Django's CSRF check compares
a form's Origin. Each case is checked against Django's own check too."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.test import RequestFactory

from notifications.websocket import same_origin

TRUSTED = ["https://cchc.example.gov.vn", "https://*.noivu.example.gov.vn"]

CASES = [
    # (socket scheme, Host, Origin, X-Forwarded-Proto, accepted)
    ("ws", "testserver", "http://testserver", None, True),
    ("ws", "testserver", "https://testserver", None, False),  # another scheme
    ("ws", "testserver", "http://testserver:8443", None, False),  # another port
    ("ws", "testserver:8000", "http://testserver:8000", None, True),
    ("ws", "testserver:8000", "http://testserver", None, False),
    ("ws", "testserver", "http://evil.example", None, False),
    ("ws", "evil.example", "http://evil.example", None, False),  # a host not ours
    ("ws", "testserver", "null", None, False),  # a sandboxed page
    ("wss", "testserver", "https://testserver", None, True),
    ("wss", "testserver", "http://testserver", None, False),
    ("ws", "testserver", "https://testserver", "https", True),  # behind the TLS proxy
    ("ws", "testserver", "http://testserver", "https", False),
    ("ws", "testserver", "https://cchc.example.gov.vn", None, True),  # trusted
    ("ws", "testserver", "http://cchc.example.gov.vn", None, False),
    ("ws", "testserver", "https://cchc.example.gov.vn:444", None, False),
    ("ws", "testserver", "https://tinh.noivu.example.gov.vn", None, True),  # trusted wildcard
    ("ws", "testserver", "http://tinh.noivu.example.gov.vn", None, False),
    ("ws", "testserver", "https://noivu.example.gov.vn.evil.example", None, False),
]


def handshake(scheme: str, host: str, origin: str, forwarded: str | None) -> dict[str, Any]:
    headers = [(b"host", host.encode()), (b"origin", origin.encode())]
    if forwarded:
        headers.append((b"x-forwarded-proto", forwarded.encode()))
    return {"type": "websocket", "scheme": scheme, "path": "/ws/notifications/", "headers": headers}


def django_csrf_accepts(scheme: str, host: str, origin: str, forwarded: str | None) -> bool:
    """Django's own Origin check on a POST with the same headers."""
    headers = {"host": host, "origin": origin}
    if forwarded:
        headers["x-forwarded-proto"] = forwarded
    request = RequestFactory().post("/", headers=headers, secure=scheme == "wss")

    def get_response(_request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    middleware = CsrfViewMiddleware(get_response)
    # A private method of Django's, which the stubs do not declare: the very check to agree with.
    return bool(middleware._origin_verified(request))  # type: ignore[attr-defined]


@pytest.mark.parametrize(("scheme", "host", "origin", "forwarded", "accepted"), CASES)
def test_a_socket_opens_only_from_a_page_of_this_site_or_a_trusted_one(
    settings: Any, scheme: str, host: str, origin: str, forwarded: str | None, accepted: bool
) -> None:
    settings.CSRF_TRUSTED_ORIGINS = TRUSTED
    assert same_origin(handshake(scheme, host, origin, forwarded)) is accepted
    assert django_csrf_accepts(scheme, host, origin, forwarded) is accepted


def test_a_client_that_sends_no_origin_is_not_a_browser_and_may_connect() -> None:
    """Scripts carry no ambient credential: what lets them in is the ticket."""
    scope = {"type": "websocket", "scheme": "ws", "path": "/", "headers": [(b"host", b"x")]}
    assert same_origin(scope)


def test_the_forwarded_host_counts_only_where_the_installation_says_so(settings: Any) -> None:
    scope = handshake("ws", "127.0.0.1:8000", "http://testserver", None)
    scope["headers"].append((b"x-forwarded-host", b"testserver"))
    assert not same_origin(scope)
    settings.USE_X_FORWARDED_HOST = True
    assert same_origin(scope)
