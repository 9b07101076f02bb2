from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = _("Evidence")

    def ready(self) -> None:
        # The evidence app sits above the workflow: it joins the submit guards, the snapshot
        # and the after-commit events here instead of the workflow importing it.
        from evidence import checks, services  # noqa: F401  (checks registers itself)
        from workflow import appraisal, audit, events
        from workflow.transitions import register_guard

        register_guard("submit", services.evidence_or_explanation)
        events.subscribe(after_commit=services.on_workflow_event)
        audit.register_snapshot_part(
            "evidence", services.snapshot_part, services.preload_current_evidence
        )
        appraisal.register_criterion_column("evidence", services.appraisal_column, list)
