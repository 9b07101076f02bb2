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
from django.utils.translation import gettext as _

from cases import permissions
from cases.errors import Conflict, InvalidInput
from cases.models import Case, Cycle, PublishedResult, RankingExclusion
from cases.users import User
from results import ranking
from workflow import audit, events, rules


def _decidable_case(case_id: Any, actor: User) -> Case:
    case = permissions.get_case_for_user(
        actor,
        case_id,
        queryset=Case.objects.select_for_update(of=("self",)).select_related("cycle", "unit"),
    )
    rules.enforce(rules.decide_ranking(rules.facts_for(actor, case, codes=("publish_case",))))
    return case


def exclude_from_ranking(
    case_id: Any, reason: str, *, actor: User, now: datetime | None = None
) -> RankingExclusion:
    """The leader takes a unit out of the ranking of its cycle, with the reason."""
    reason = (reason or "").strip()
    with transaction.atomic(durable=True):
        case = _decidable_case(case_id, actor)
        if not reason:
            raise InvalidInput(_("Give the reason the unit is not ranked."))
        if RankingExclusion.objects.filter(case=case).exists():
            raise Conflict(_("This unit is already excluded from the ranking."))
        exclusion = RankingExclusion.objects.create(
            case=case, reason=reason, decided_by=actor, decided_at=now or timezone.now()
        )
        events.publish(audit.ranking_excluded(case, actor=actor, reason=reason))
    return exclusion


def reinstate_in_ranking(case_id: Any, reason: str, *, actor: User) -> Case:
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
    announced = ranking.compute_results(cycle)
    return PublishedResult.objects.bulk_create(ranking.snapshot_rows(announced))
