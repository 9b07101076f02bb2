"""Errors Django answers itself (no such address, a refused request, a crash) take the API's
JSON error format under /api/, so that an API client never has to read an HTML page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults

API_PREFIX = "/api/"


def _api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _json(detail: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "errors": []}, status=status)


def bad_request(request: HttpRequest, exception: Exception, **kwargs: Any) -> HttpResponse:
    if _api(request):
        return _json(_("The request is not valid."), 400)
    return defaults.bad_request(request, exception, **kwargs)


def permission_denied(request: HttpRequest, exception: Exception, **kwargs: Any) -> HttpResponse:
    if _api(request):
        return _json(_("You are not allowed to do this."), 403)
    return defaults.permission_denied(request, exception, **kwargs)


def page_not_found(request: HttpRequest, exception: Exception, **kwargs: Any) -> HttpResponse:
    if _api(request):
        return _json(_("There is nothing at this address."), 404)
    return defaults.page_not_found(request, exception, **kwargs)


def server_error_json() -> JsonResponse:
    return _json(_("Something went wrong on the server; it has been logged. Try again later."), 500)


def csrf_failure(request: HttpRequest, reason: str = "", **kwargs: Any) -> HttpResponse:
    """A form sent with a security token that no longer holds (the page stayed open while its
    user signed in again in another tab, or the browser refuses cookies): say what to do, in
    the user's language and the product's page, instead of Django's technical page."""
    message = _(
        "The form was not accepted: its security code has expired (the page stayed open while "
        "you signed in or out in another tab) or this browser refuses cookies. Reload the page "
        "and send it again, with cookies allowed for this site; nothing was saved."
    )
    if _api(request):
        return _json(message, 403)
    return render(
        request, "403.html", {"heading": _("Form expired"), "exception": message}, status=403
    )
