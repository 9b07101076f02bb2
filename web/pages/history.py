"""A case's history as people read it: the steps of the process first, then every change,
with the autosaves of one criterion in one session of work folded into one line.

Built from the audit trail in two queries (the entries with their actors, the titles of the
criteria they name); nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Criterion
from workflow.models import AuditEntry

# Saves of one criterion by one person less than this apart belong to one session of work.
SESSION_GAP = timedelta(minutes=30)

# Kinds of event, by the first part(s) of their action code (most specific first).
KINDS: list[tuple[str, Promise, tuple[str, ...]]] = [
    ("steps", _("Steps of the process"), ("workflow.case.",)),
    ("self", _("Self scores"), ("cases.score.self_changed",)),
    ("appraisal", _("Appraisal"), ("cases.score.appraised", "cases.score.survey_imported")),
    ("questions", _("Questions and answers"), ("workflow.clarification.",)),
    ("evidence", _("Evidence"), ("evidence.",)),
    ("deadlines", _("Deadlines"), ("deadlines.",)),
]
OTHER = ("other", _("Other"))
# Saves that come one after another while someone works on a row.
FOLDED = ("cases.score.self_changed", "cases.score.appraised")


def kind_of(action: str) -> str:
    for code, _label, prefixes in KINDS:
        if action.startswith(prefixes):
            return code
    return OTHER[0]


def kind_choices() -> list[tuple[str, str]]:
    return [(code, str(label)) for code, label, _p in KINDS] + [(OTHER[0], str(OTHER[1]))]


@dataclass
class Line:
    """One line of the history: a single event, or a criterion's saves in one session."""

    entries: list[AuditEntry]
    kind: str
    criterion_title: str = ""

    @property
    def first(self) -> AuditEntry:
        return self.entries[0]

    @property
    def last(self) -> AuditEntry:
        return self.entries[-1]

    @property
    def folded(self) -> bool:
        return len(self.entries) > 1

    @property
    def count(self) -> int:
        return len(self.entries)

    @property
    def after(self) -> dict[str, Any]:
        """What the session changed, field by field, as it stood at its last save."""
        merged: dict[str, Any] = {}
        for entry in self.entries:
            merged.update(entry.after or {})
        return merged


@dataclass
class History:
    steps: list[Line]
    changes: list[Line]
    kind: str
    choices: list[tuple[str, str]] = field(default_factory=kind_choices)
    total: int = 0


def case_history(case: Case, kind: str = "") -> History:
    """Every audit entry of the case, grouped for reading; `kind` keeps one kind only."""
    kind = kind if kind in {code for code, _l in kind_choices()} else ""
    entries = list(
        AuditEntry.objects.filter(case=case).select_related("actor").order_by("at", "pk")
    )
    codes = {e.data.get("criterion") for e in entries if isinstance(e.data, dict)} - {None}
    titles = dict(
        Criterion.objects.of_case(case).filter(code__in=codes).values_list("code", "title")
    )
    steps: list[Line] = []
    changes: list[Line] = []
    open_sessions: dict[tuple[Any, ...], Line] = {}
    for entry in entries:
        entry_kind = kind_of(entry.action)
        if kind and entry_kind != kind:
            continue
        criterion = entry.data.get("criterion") if isinstance(entry.data, dict) else None
        if entry_kind == "steps":
            steps.append(Line([entry], entry_kind))
            continue
        if entry.action in FOLDED and criterion:
            key = (entry.action, entry.actor_id, criterion)
            session = open_sessions.get(key)
            if session is not None and _close(session.last.at, entry.at):
                session.entries.append(entry)
                continue
            line = Line([entry], entry_kind, titles.get(criterion, ""))
            open_sessions[key] = line
            changes.append(line)
            continue
        changes.append(Line([entry], entry_kind, titles.get(criterion or "", "")))
    return History(steps=steps, changes=changes, kind=kind, total=len(entries))


def _close(previous: datetime, current: datetime) -> bool:
    return current - previous <= SESSION_GAP
