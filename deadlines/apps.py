from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeadlinesConfig(AppConfig):
    name = "deadlines"
    verbose_name = _("Deadlines")

    def ready(self) -> None:
        from deadlines.guards import answer_window_open
        from workflow.transitions import register_guard

        register_guard("submit_explanation", answer_window_open)
