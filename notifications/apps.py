from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from notifications import services, sockets
        from workflow import events

        # In the event's transaction: the audit entry becomes inbox rows (and their
        # deliveries, sent after commit by notify()); a batch's entries in one go.
        events.subscribe(in_transaction=services.on_event, in_transaction_many=services.on_events)
        # Sign-out, token revocation and deactivation close the sockets they opened.
        sockets.connect_signals()
