"""One JSON shape for every API error: {"detail": "…", "errors": […]}.

Domain errors carry a user-facing message already translated into the request's language;
DRF's own errors (validation, authentication) are reshaped to the same form. A database
that cannot be reached answers 503 "try again" (ops.unavailable); a value the database
refuses to store (a NUL character in a text, which PostgreSQL does not accept) is bad input,
400, and changed nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import DataError
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from cases.errors import DomainError
from ops import unavailable


def _flatten(data: Any, prefix: str = "") -> list[str]:
    if isinstance(data, dict):
        out: list[str] = []
        for key, value in data.items():
            name = "" if key == "non_field_errors" else str(key)
            out += _flatten(value, f"{prefix}{name}: " if name else prefix)
        return out
    if isinstance(data, list):
        return [msg for item in data for msg in _flatten(item, prefix)]
    return [f"{prefix}{data}"]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"detail": str(exc.message), "errors": [str(e) for e in exc.errors]}
        problems = getattr(exc, "problems", None)
        if problems is not None:  # a refused file: where each problem is, for the UI
            body["problems"] = [
                {"row": p["row"], "column": p["column"], "message": str(p["message"])}
                for p in problems
            ]
        return Response(body, status=exc.status_code)
    if unavailable.database_unavailable(exc):
        body, headers = unavailable.api_response()
        return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers=headers)
    if isinstance(exc, DataError):
        return Response(
            {
                "detail": _(
                    "The data sent cannot be stored: it contains a character or a value the "
                    "database does not accept (such as a NUL character)."
                ),
                "errors": [],
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        errors = _flatten(response.data)
        response.data = {"detail": _("The data sent is not valid."), "errors": errors}
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": str(response.data["detail"]), "errors": []}
    return response
