"""Django's database sessions, each page's session read by a query compiled once.

Every page request reads its session row first; building and compiling that one-row read
cost more CPU than PostgreSQL spent on it (`cases.compiled`). Everything else is Django's.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from cases.compiled import Compiled

_SESSION: Compiled[Session] = Compiled(
    lambda _key, session_key, now: Session.objects.filter(
        session_key=session_key, expire_date__gt=now
    )
)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Any:
        """The unexpired row of this key, as Django reads it; none forgets the key."""
        key = self.session_key
        found = _SESSION((), key, timezone.now()) if key is not None else []
        if found:
            return found[0]
        self._session_key = None
        return None
