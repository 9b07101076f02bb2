"""Django's PostgreSQL backend, reading timestamps with psycopg's C parser, and `json`
columns as Django reads `jsonb` ones.

Django reads every `timestamptz` through a loader written in Python (its own subclass of
psycopg's Python loader, to set the time zone it expects): on a score sheet, half the CPU of
reading the hundred score rows went to parsing their `updated_at`. Here the same loader
hands the parsing to psycopg's C loader where the installed psycopg has one, and sets the
time zone as Django's does, so the values are the same.

Django has psycopg hand a `jsonb` value over as its text, which the field decodes; psycopg
would decode a `json` value itself, and the field then again. The audit snapshots are `json`
(`workflow.models.SnapshotField`): they are handed over as text too.
"""

from __future__ import annotations

import threading
from datetime import tzinfo
from typing import Any

from django.db.backends.postgresql import base
from psycopg import adapt, pq
from psycopg.adapt import Loader
from psycopg.types.string import TextLoader

try:
    from psycopg_binary._psycopg import TimestamptzLoader as CTimestamptzLoader  # type: ignore[attr-defined]
except ImportError:  # psycopg without its binary part: Django's loader, unchanged
    CTimestamptzLoader = None


class _CTzLoader(Loader):
    """Django's `BaseTzLoader` (the parse, then this time zone), parsed in C."""

    timezone: tzinfo | None = None  # Django's create_cursor compares it with its own

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        self._parse = CTimestamptzLoader(oid, context).load

    def load(self, data: Any) -> Any:
        return self._parse(data).replace(tzinfo=self.timezone)


_templates: dict[int, adapt.AdaptersMap] = {}
_lock = threading.Lock()


def _ours(template: adapt.AdaptersMap) -> adapt.AdaptersMap:
    """Django's adapters template (one per time zone setting) with the `json` text loader
    and, where psycopg has it, the C-parsing timestamp loader."""
    found = _templates.get(id(template))
    if found is None:
        found = adapt.AdaptersMap(template)
        found.register_loader("json", TextLoader)
        if CTimestamptzLoader is not None and pq.__impl__ != "python":
            django_loader = template.get_loader(base.TIMESTAMPTZ_OID, pq.Format.TEXT)
            timezone = getattr(django_loader, "timezone", None)
            found.register_loader(
                "timestamptz", type("TzLoader", (_CTzLoader,), {"timezone": timezone})
            )
        with _lock:
            found = _templates.setdefault(id(template), found)
    return found


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        params["context"] = _ours(params["context"])
        return params
