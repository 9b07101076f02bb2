"""The documents on the pages: a case's reports and signed scans, a cycle's downloads.

Which document exists and who may have it are the rules of `results` and
`cases.permissions`; this module only asks them, so that a button is shown exactly when
its download would answer with the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils.translation import gettext as _

from cases import permissions
from cases.models import Case, Cycle
from cases.permissions import AnyUser
from cases.users import User
from results import documents, services
from results.models import SignedReport, SubmittedReport
from results.ranking import CycleResults
from workflow import rules


@dataclass(frozen=True)
class Download:
    label: str
    url: str
    kind: str  # "Word" or "Excel", shown beside the label


@dataclass
class CaseDocuments:
    report: Download
    sent: SubmittedReport | None  # the report kept at the last receiving
    locked: bool  # received by the lock at the cutoff, not sent by the head
    signed: list[SignedReport]  # the head's scans, latest first
    required: bool  # the cycle requires a signed scan before sending
    missing: list[str]  # why the latest scan would not count now (if required)
    may_attach: bool


def case_documents(case: Case, user: AnyUser, now: datetime) -> CaseDocuments:
    report = Download(
        _("Self-assessment report") if case.submitted_at else _("Draft self-assessment report"),
        reverse("case-report", args=[case.pk]),
        "Word",
    )
    sent = None
    last = documents.last_submission(case)
    if last is not None and case.state != Case.State.SELF_SCORING:
        sent = (
            SubmittedReport.objects.select_related("document", "submission")
            .filter(submission=last)
            .first()
        )
    signed = list(
        SignedReport.objects.filter(case=case)
        .select_related("document", "uploaded_by")
        .order_by("-uploaded_at", "-pk")
    )
    required = bool(case.cycle.signed_report_required)
    self_scoring = case.state == Case.State.SELF_SCORING
    return CaseDocuments(
        report=report,
        sent=sent,
        locked=sent is not None and sent.submission.action == documents.LOCKED,
        signed=signed,
        required=required,
        missing=services.signed_report_guard(case, now, {}) if required and self_scoring else [],
        may_attach=self_scoring and _may_attach(case, user, now),
    )


def _may_attach(case: Case, user: AnyUser, now: datetime) -> bool:
    """The upload is offered exactly when the service would take it (`rules`)."""
    if not isinstance(user, User) or not permissions.has_case_perm(user, "submit_case", case):
        return False
    facts = rules.facts_for(user, case, now, codes=("submit_case",), with_deadline=True)
    return rules.allowed(rules.attach_signed_report, facts)


def cycle_documents(
    cycle: Cycle,
    user: AnyUser,
    results: CycleResults | None,
    counts: Mapping[str, int] | None = None,
) -> list[Download]:
    """The cycle's documents this user may download now. Without `results` (a page that
    does not rank), only those that need no ranking; `counts` are the cases per state when
    the page has them."""
    found = []
    if permissions.may_view_appraisal_report(user) and documents.appraisal_report_ready(
        cycle, counts
    ):
        found.append(
            Download(
                _("Appraisal report to the council chair"),
                reverse("appraisal-report", args=[cycle.pk]),
                "Word",
            )
        )
    if results is None:
        return found
    found += [
        Download(_("Results annex"), reverse("results-annex-docx", args=[cycle.pk]), "Word"),
        Download(_("Results annex"), reverse("results-annex-xlsx", args=[cycle.pk]), "Excel"),
    ]
    if permissions.may_view_reward_proposal(user) and documents.rewards_ready(results):
        found += [
            Download(_("Reward proposal"), reverse("rewards-docx", args=[cycle.pk]), "Word"),
            Download(_("Reward proposal"), reverse("rewards", args=[cycle.pk]), "Excel"),
        ]
    return found
