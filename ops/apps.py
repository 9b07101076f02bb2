from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the product: health, readiness, deploy checks, request logs, first accounts."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from ops import checks, live_push  # noqa: F401  (checks: registers the system checks)
        from ops.logs import log_transition
        from workflow import events

        events.subscribe(in_transaction=log_transition)
        live_push.connect()  # integration tokens open the live push too
