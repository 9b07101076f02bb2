"""Importing survey scores (điều tra xã hội học): all rows or none, replacing the last import.

The scores live in `Score.appraised_score` of the survey leaves (see `cases.totals`); an
import sets every survey score of the cycle to what the file says, so a leaf missing from
the new file loses the score the previous file gave it. One transaction: the file is checked
row by row (`cases.survey.parse`), the cases whose results are already decided (finalised or
published) must not change, then the scores, the import record and the audit entries (one
for the cycle with the file's SHA-256 and the before/after counts, one per case changed)
are written together.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import permissions, survey
from cases.errors import InvalidInput, NotAllowed, WrongState
from cases.models import Case, Cycle, Score, SurveyImport
from cases.problems import Problems
from cases.users import User
from workflow import audit, events

DECIDED = (Case.State.FINALISED, Case.State.PUBLISHED)


def import_upload(
    cycle_id: int, upload: UploadedFile | None, *, actor: User, missing: str
) -> SurveyImport:
    """`import_survey` for an uploaded file (page or API): `missing` says where to attach it;
    a file over the limit is refused before it is read."""
    if upload is None:
        raise InvalidInput(missing)
    if upload.size and upload.size > survey.MAX_BYTES:
        raise InvalidInput(
            _("The file is larger than %(size)s MB.") % {"size": survey.MAX_BYTES // (1024 * 1024)}
        )
    return import_survey(cycle_id, upload.name or "", upload.read(), actor=actor)


def import_survey(
    cycle_id: int,
    filename: str,
    content: bytes,
    *,
    actor: User,
    now: datetime | None = None,
) -> SurveyImport:
    """The secretariat imports the survey scores of a cycle from an .xlsx or CSV file."""
    if not permissions.may_manage_cycle(actor):
        raise NotAllowed(_("Only the secretariat imports survey scores."))
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        cycle = Cycle.objects.select_for_update().get(pk=cycle_id)
        if cycle.status != Cycle.Status.OPEN:
            raise WrongState(
                _("Survey scores can be imported only while the cycle is open; it is “%(status)s”.")
                % {"status": cycle.get_status_display()}
            )
        rows = survey.parse(cycle, filename, content)
        wanted = {(r.case_id, r.criterion_id): r.score for r in rows}
        current = list(
            Score.objects.select_for_update(of=("self",))
            .survey_of(cycle)
            .select_related("case", "case__unit", "criterion")
            .order_by("case__unit__code", "criterion__position")
        )
        changed = [
            s for s in current if wanted.get((s.case_id, s.criterion_id)) != s.appraised_score
        ]
        _refuse_decided_changes(changed)
        before_count = sum(1 for s in current if s.appraised_score is not None)
        record = SurveyImport.objects.create(
            cycle=cycle,
            filename=(filename or "")[:255],
            sha256=hashlib.sha256(content).hexdigest(),
            row_count=len(rows),
            rows=[[r.unit_code, r.criterion_code, str(r.score)] for r in rows],
            imported_by=actor,
            imported_at=now,
        )
        per_case: dict[int, tuple[Case, dict[str, Any], dict[str, Any]]] = {}
        for score in changed:
            new = wanted.get((score.case_id, score.criterion_id))
            _case, before, after = per_case.setdefault(score.case_id, (score.case, {}, {}))
            before[score.criterion.code] = score.appraised_score
            after[score.criterion.code] = new
            score.appraised_score = new
            score.appraised_by = actor if new is not None else None
            score.appraised_at = now if new is not None else None
            score.appraised_comment = (
                _("Survey import of %(date)s (%(file)s)")
                % {"date": timezone.localtime(now).strftime("%d/%m/%Y %H:%M"), "file": filename}
                if new is not None
                else ""
            )
            score.version += 1
        Score.objects.bulk_update(
            changed,
            ["appraised_score", "appraised_by", "appraised_at", "appraised_comment", "version"],
            batch_size=2000,
        )
        for case, before, after in per_case.values():
            audit.survey_scores_changed(
                case, actor=actor, survey_import=record, before=before, after=after
            )
        entry = audit.survey_imported(
            cycle,
            actor=actor,
            survey_import=record,
            before_count=before_count,
            after_count=len(rows),
            changed=len(changed),
            cases_changed=len(per_case),
        )
        events.publish(entry)
    return record


def _refuse_decided_changes(changed: list[Score]) -> None:
    """A finalised or published case keeps its scores: reopen it first."""
    locked: dict[str, list[str]] = {}
    for score in changed:
        if score.case.state in DECIDED:
            locked.setdefault(score.case.unit.code, []).append(score.criterion.code)
    problems = Problems()
    for unit, codes in locked.items():
        problems.add(
            _(
                "The case of unit %(unit)s is already finalised: reopen it before changing its survey scores (%(codes)s)."
            )
            % {"unit": unit, "codes": ", ".join(codes)}
        )
    problems.refuse_if_any()
