"""Errors Django answers itself (no such address, a refused request, a crash) take the API's
JSON error format under /api/, so that an API client never has to read an HTML page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
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
