"""The writers of results: the leader's exclusions from the ranking, the frozen publication.

Units found to have provided untruthful evidence or figures are not ranked: the case keeps its
scores and state and is still published; the results list it apart with the reason. Decided
until the results are published, each decision audited on the case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cases import permissions
from cases.errors import Conflict, InvalidInput
from cases.models import Case, Cycle, PublishedResult, RankingExclusion
from deadlines.calendar import local_date, parse_day
from results import ranking
from workflow import audit, events, rules


def _decidable_case(case_id: Any, actor: Any) -> Case:
    case = permissions.get_case_for_user(
        actor,
        case_id,
        queryset=Case.objects.select_for_update(of=("self",)).select_related("cycle", "unit"),
    )
    rules.enforce(rules.decide_ranking(rules.facts_for(actor, case, codes=("publish_case",))))
    return case


def exclude_from_ranking(
    case_id: Any,
    reason: str,
    *,
    actor: Any,
    follow_up_by: str = "",
    follow_up_due: Any = None,
    now: datetime | None = None,
) -> RankingExclusion:
    """The leader takes a unit out of the ranking of its cycle, with the reason and the
    follow-up the decision demands (who clarifies the responsibility, by when). The unit
    is told in the same transaction (the notification subscribed to the audit action)."""
    reason = (reason or "").strip()
    follow_up_by = (follow_up_by or "").strip()
    now = now or timezone.now()
    due = None
    if follow_up_due not in (None, ""):
        due = parse_day(follow_up_due)
        if due is None:
            raise InvalidInput(
                _("%(field)s: “%(raw)s” is not a date; write it as dd/mm/yyyy or yyyy-mm-dd.")
                % {"field": _("Follow-up due"), "raw": follow_up_due}
            )
        if due < local_date(now):
            raise InvalidInput(
                _("The follow-up date %(date)s has already passed.")
                % {"date": date_format(due, "d/m/Y")}
            )
    with transaction.atomic(durable=True):
        case = _decidable_case(case_id, actor)
        if not reason:
            raise InvalidInput(_("Give the reason the unit is not ranked."))
        if RankingExclusion.objects.filter(case=case).exists():
            raise Conflict(_("This unit is already excluded from the ranking."))
        exclusion = RankingExclusion.objects.create(
            case=case,
            reason=reason,
            decided_by=actor,
            decided_at=now,
            follow_up_by=follow_up_by,
            follow_up_due=due,
        )
        follow_up = (
            {"by": follow_up_by, "due": due.isoformat() if due else None}
            if follow_up_by or due
            else None
        )
        events.publish(
            audit.ranking_excluded(case, actor=actor, reason=reason, follow_up=follow_up)
        )
    return exclusion


def reinstate_in_ranking(case_id: Any, reason: str, *, actor: Any) -> Case:
    """The leader puts an excluded unit back into the ranking, saying why."""
    reason = (reason or "").strip()
    with transaction.atomic(durable=True):
        case = _decidable_case(case_id, actor)
        exclusion = RankingExclusion.objects.filter(case=case).first()
        if exclusion is None:
            raise Conflict(_("This unit is not excluded from the ranking."))
        if not reason:
            raise InvalidInput(_("Give the reason the unit is ranked again."))
        previous = exclusion.reason
        exclusion.delete()
        events.publish(
            audit.ranking_reinstated(case, actor=actor, reason=reason, previous_reason=previous)
        )
    return case


def freeze_results(cycle: Cycle) -> list[PublishedResult]:
    """Save the ranking as announced (called by the publication, inside its transaction)."""
    announced = ranking.compute_results(cycle, withhold_excluded=True)
    return PublishedResult.objects.bulk_create(ranking.snapshot_rows(announced))
