from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResultsConfig(AppConfig):
    name = "results"
    verbose_name = _("Results")

    def ready(self) -> None:
        # Results sit above the workflow: publication freezes the ranking through this hook
        # instead of the workflow importing the ranking.
        from deadlines.runner import after_each_sweep
        from results import services
        from workflow.cycle_services import register_results_freezer
        from workflow.transitions import register_guard

        register_results_freezer(services.freeze_results)
        register_guard("submit", services.signed_report_guard)
        after_each_sweep(services.keep_missing_reports)
