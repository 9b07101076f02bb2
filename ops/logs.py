"""Structured logs: one JSON object per line, with the request id, user id and case id.

The request middleware puts those ids in context variables, so every line written while a
request is served carries them (the transition lines too). What is never logged: request
and response bodies (evidence content, passwords), headers (tokens, cookies) and query
strings; only the path, the method, the status and the time taken.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse

request_id_var: ContextVar[str] = ContextVar("request_id", default="")
user_id_var: ContextVar[int | None] = ContextVar("user_id", default=None)
case_id_var: ContextVar[int | None] = ContextVar("case_id", default=None)

request_log = logging.getLogger("par.request")
transition_log = logging.getLogger("par.transition")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Attributes every LogRecord has; anything else was passed with extra= and is logged.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get() or None,
            "user_id": user_id_var.get(),
            "case_id": case_id_var.get(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def _case_id(request: HttpRequest) -> int | None:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    if "case_id" in match.kwargs:
        return match.kwargs["case_id"]
    if "pk" in match.kwargs and "cases/<int:pk>" in (match.route or ""):
        return match.kwargs["pk"]
    return None


class RequestLogMiddleware:
    """Gives each request an id (X-Request-ID from the proxy when sane, else a new one),
    returns it in the response, and logs one line per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        # Set, not reset at the end: Django logs 4xx/5xx responses ("django.request") after
        # the middleware has returned, and those lines should carry the ids too. Each request
        # sets all three first, so nothing leaks from one request into the next.
        request_id_var.set(rid)
        user_id_var.set(None)
        case_id_var.set(None)
        started = time.monotonic()
        response = self.get_response(request)
        self._identify(request)
        response["X-Request-ID"] = rid
        request_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "event": "request",
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        return response

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: dict[str, Any]
    ) -> None:
        self._identify(request)

    @staticmethod
    def _identify(request: HttpRequest) -> None:
        user = getattr(request, "user", None)
        try:
            authenticated = user is not None and getattr(user, "is_authenticated", False)
        except DatabaseError:  # the session cannot be read while the database is gone
            authenticated = False
        if authenticated and user is not None:
            user_id_var.set(user.pk)
        case_id = _case_id(request)
        if case_id is not None:
            case_id_var.set(case_id)


def log_transition(entry: Any) -> None:
    """workflow.events in-transaction subscriber: one line per case transition, written
    once the transition has committed (a rolled-back one is not logged). Nothing is done
    where its level is off (LOG_LEVEL above INFO)."""
    if not entry.action.startswith("workflow.case.") or not transition_log.isEnabledFor(
        logging.INFO
    ):
        return
    fields = {
        "event": "transition",
        "action": entry.action,
        "source": entry.source,
        "target": entry.target,
        "audit_id": entry.pk,
        "actor_id": entry.actor_id,
    }

    # The ids as they are now: the commit may come after the request's context is gone.
    ids: dict[ContextVar[Any], Any] = {
        request_id_var: request_id_var.get(),
        user_id_var: user_id_var.get(),
    }

    def write() -> None:
        tokens = [(var, var.set(value)) for var, value in ids.items()]
        tokens.append((case_id_var, case_id_var.set(entry.case_id)))
        try:
            transition_log.info(
                "case %s: %s → %s", entry.case_id, entry.source, entry.target, extra=fields
            )
        finally:
            for var, token in reversed(tokens):
                var.reset(token)

    transaction.on_commit(write)
