"""Words the pages use for workflow codes: states, steps (buttons) and timeline events.

Action codes are the audit trail's (`workflow.audit`, and those the apps above it add);
an unknown one is shown as it is rather than hidden, so the timeline never loses a step.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Score
from evidence.models import Document
from workflow.models import Clarification

TRANSITIONS: dict[str, Promise] = {
    "submit": _("Submit the self-assessment"),
    "recall": _("Recall the self-assessment"),
    "lock_at_cutoff": _("Lock at the deadline"),
    "start_appraisal": _("Start the appraisal"),
    "request_explanation": _("Send the questions to the unit"),
    "submit_explanation": _("Send the explanation"),
    "expire_explanation": _("Close the answer window"),
    "finalise": _("Finalise the scores"),
    "reopen": _("Reopen the appraisal"),
    "publish": _("Publish"),
}

DONE: dict[str, Promise] = {
    "submit": _("The self-assessment was submitted."),
    "recall": _("The self-assessment was recalled; it can be changed again."),
    "start_appraisal": _("The appraisal has started."),
    "request_explanation": _("The questions were sent to the unit."),
    "submit_explanation": _("The explanation was sent to the appraisal council."),
    "finalise": _("The scores of this case are finalised."),
    "reopen": _("The appraisal was reopened."),
}

ACTIONS: dict[str, Promise] = {
    "auth.signin.spraying": _("Password spraying on many accounts"),
    "auth.two_factor.enabled": _("Two-factor sign-in turned on"),
    "auth.two_factor.disabled": _("Two-factor sign-in turned off"),
    "auth.two_factor.recovery_codes_renewed": _("New recovery codes made"),
    "auth.integration_token.created": _("Integration token made"),
    "auth.integration_token.revoked": _("Integration token revoked"),
    "workflow.case.submit": _("Self-assessment submitted"),
    "results.signed_report.added": _("Signed report attached"),
    "results.submitted_report.kept": _("Self-assessment report kept as sent"),
    "workflow.case.recall": _("Self-assessment recalled"),
    "workflow.case.lock_at_cutoff": _("Locked at the deadline"),
    "workflow.case.start_appraisal": _("Appraisal started"),
    "workflow.case.request_explanation": _("Questions sent to the unit"),
    "workflow.case.submit_explanation": _("Explanation sent"),
    "workflow.case.expire_explanation": _("Answer window closed"),
    "workflow.case.finalise": _("Scores finalised"),
    "workflow.case.reopen": _("Appraisal reopened"),
    "workflow.case.publish": _("Results published"),
    "cases.score.self_changed": _("Self score changed"),
    "cases.score.appraised": _("Criterion appraised"),
    "workflow.clarification.asked": _("Question asked"),
    "workflow.clarification.answered": _("Question answered"),
    "workflow.clarification.expired": _("Question expired"),
    "cases.cycle.created": _("Cycle created"),
    "cases.cycle.opened": _("Cycle opened"),
    "cases.framework.bound": _("Criteria set chosen for the cycle"),
    "cases.framework.imported": _("Criteria set imported"),
    "cases.framework.copied": _("Criteria set copied as a new version"),
    "cases.framework.changed": _("Criteria set changed"),
    "cases.council.formed": _("Appraisal council formed"),
    "cases.council.member_added": _("Council member added"),
    "cases.council.member_removed": _("Council member removed"),
    "cases.council.area_assigned": _("Area assigned to a council department"),
    "cases.council.area_unassigned": _("Area taken from a council department"),
    "cases.cycle.changed": _("Cycle changed"),
    "cases.cycle.results_submitted": _("Results sent for approval"),
    "cases.cycle.published": _("Results published"),
    "deadlines.extension.granted": _("Deadline extended"),
    "deadlines.calendar.day_added": _("Calendar day added"),
    "deadlines.calendar.day_removed": _("Calendar day removed"),
    "cases.score.survey_imported": _("Survey score imported"),
    "cases.survey.imported": _("Survey scores imported"),
    "cases.membership.added": _("Member added to the unit"),
    "cases.membership.removed": _("Member removed from the unit"),
    "cases.people.imported": _("Units and accounts imported"),
    "cases.unit_group.created": _("Unit group created"),
    "cases.unit.created": _("Unit created"),
    "cases.unit.renamed": _("Unit renamed"),
    "cases.unit.name_corrected": _("Unit name corrected"),
    "cases.unit.merged": _("Units merged"),
    "cases.account.created": _("Account created"),
    "cases.account.invited": _("Invitation sent"),
    "cases.account.password_set": _("Password set by its owner"),
    "cases.account.deactivated": _("Account deactivated"),
    "cases.account.reactivated": _("Account reactivated"),
    "cases.assignment.added": _("Appraiser assigned"),
    "cases.assignment.removed": _("Appraiser unassigned"),
    "cases.ranking.excluded": _("Excluded from the ranking"),
    "cases.ranking.reinstated": _("Put back in the ranking"),
    "evidence.file.added": _("Evidence uploaded"),
    "evidence.link.added": _("Evidence linked to a criterion"),
    "evidence.link.withdrawn": _("Evidence withdrawn"),
    "evidence.file.downloaded": _("Evidence downloaded"),
    "evidence.file.retained": _("Evidence kept under retention"),
    "evidence.file.integrity_changed": _("Evidence integrity check changed"),
}


def transition_label(name: str) -> str:
    return str(TRANSITIONS.get(name, name))


def action_label(action: str) -> str:
    label = ACTIONS.get(action)
    return str(label) if label is not None else action


def state_label(state: str) -> str:
    try:
        return str(Case.State(state).label)
    except ValueError:
        return state


def done_message(name: str) -> str:
    return str(DONE.get(name, _("Done.")))


def saved_message(code: str) -> str:
    return str(_("Criterion %(code)s saved.") % {"code": code})


FIELDS: dict[str, Promise] = {
    "value": _("declared figure"),
    "self_score": _("self score"),
    "note": _("note"),
    "not_applicable": _("not applicable"),
    "not_applicable_reason": _("reason not applicable"),
    "evidence_explanation": _("how the score was reached"),
    "appraised_score": _("appraised score"),
    "appraised_comment": _("appraisal comment"),
    "appraised_round": _("appraisal round"),
    "not_applicable_decision": _("decision on not applicable"),
    "answer": _("answer"),
    "due_date": _("deadline"),
    "status": _("status"),
    "withdrawn": _("withdrawn"),
    "excluded": _("not ranked"),
    "reason": _("reason"),
    "integrity": _("stored file"),
    "scores": _("survey scores"),
    "active": _("account active"),
    "code": _("code"),
    "name": _("name"),
}
# The words for the stored codes of the fields that hold one.
VALUES: dict[str, dict[str, Any]] = {
    "not_applicable_decision": dict(Score._meta.get_field("not_applicable_decision").choices or []),
    "status": dict(Clarification.Status.choices),
    "integrity": dict(Document.Integrity.choices),
}


def field_label(name: str) -> str:
    label = FIELDS.get(name)
    return str(label) if label is not None else name


def value_label(name: str, value: Any) -> str | None:
    """The words for a field's stored code (None: the value is not a code of that field)."""
    label = VALUES.get(name, {}).get(value) if isinstance(value, str) else None
    return str(label) if label is not None else None
