"""A lost database answers 503 "try again" in the user's language, never a 500 traceback.

When PostgreSQL restarts, fails over or cannot be reached, a request fails with
`OperationalError` (connection refused, "terminating connection due to administrator
command", "server closed the connection unexpectedly") or `InterfaceError` (the connection
was already closed). Nothing is wrong with the request: the user should try again shortly.
- The API says so in its usual {"detail", "errors"} JSON (`config.api_errors` calls
  `api_response`), with `Retry-After`.
- Everything else reaches Django's 500 handler, which `server_error` replaces: a database
  outage becomes a plain 503 page (or the JSON above for an /api/ path that failed before
  DRF, e.g. in a middleware), built without touching the database (no session, no menu,
  no unread count); any other error keeps Django's own 500 page.

Each transition is one transaction, so a failed request changed nothing, except in the rare
case where the connection broke after PostgreSQL committed but before it answered: the server
cannot know, so the message asks to reload and check before trying again.
"""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext as _
from django.views import defaults

from ops import errors

RETRY_AFTER_SECONDS = 30
API_PREFIX = "/api/"


def database_unavailable(exc: BaseException | None) -> bool:
    """The error means the database cannot be used right now (not a bug of the request)."""
    return isinstance(exc, (OperationalError, InterfaceError))


def message() -> str:
    return _(
        "The service cannot reach its database at the moment. Wait a minute, reload the page "
        "to see whether your change was saved, and try again if it was not."
    )


def api_response() -> tuple[dict[str, Any], dict[str, str]]:
    """The body and headers of the API's answer (rendered by DRF or as plain JSON)."""
    return {"detail": message(), "errors": []}, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _language(request: HttpRequest) -> str:
    """The API negotiates (Accept-Language); pages follow the language switch's cookie only
    (as web.middleware.PageLocaleMiddleware does). Decided here again: the failure may have
    come before the locale middleware ran."""
    if request.path.startswith(API_PREFIX):
        return translation.get_language_from_request(request)
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    try:
        return translation.get_supported_language_variant(chosen) if chosen else ""
    except LookupError:
        return ""


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """handler500: called by Django while it handles the exception (so it is at hand)."""
    if not database_unavailable(sys.exception()):
        if request.path.startswith(API_PREFIX):
            return errors.server_error_json()
        return defaults.server_error(request, *args, **kwargs)
    language = _language(request) or settings.LANGUAGE_CODE
    with translation.override(language):
        if request.path.startswith(API_PREFIX):
            body, headers = api_response()
            response: HttpResponse = JsonResponse(body, status=503, headers=headers)
        else:
            page = loader.get_template("503.html").render(
                {"message": message(), "LANGUAGE_CODE": language}
            )
            response = HttpResponse(page, status=503)
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Content-Language"] = language
    response["Cache-Control"] = "no-store"
    return response
