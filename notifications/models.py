"""The inbox, its deliveries and each user's notification settings.

Invariants:
- A `Notification` is one row per recipient, written in the transaction of the event it
  reports (by `notifications.services.notify`); it exists whatever happens to delivery.
- Each notification has one `Delivery` per channel (push, e-mail), created with it. A
  delivery is claimed by one sender at a time (`status=sending` with a lease in
  `next_attempt_at`), and ends `delivered`, `failed` (permanently refused) or `skipped`
  (nothing to send: e-mail turned off, no address). Until then it is retried. A push is
  written already `delivered` by the transaction's batch, which pushes it after commit and
  puts it back to `pending` only if that fails (notifications.delivery).
- `Delivery.delivered_at` and `Notification.read_at` are the proof of notice: when the
  channel took the message (a batch's push: when its transaction wrote it, a moment before)
  and when the user opened it; `Delivery.confirmed_at`, when an open page had the push.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from cases.models import Case


class Notification(models.Model):
    # No index of its own: the (recipient, read_at) index begins with it.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=64, db_index=True)
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    event = models.ForeignKey(
        "workflow.AuditEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("event"),
    )
    text_vi = models.TextField()
    text_en = models.TextField()
    link = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return f"{self.recipient} {self.kind}"

    @property
    def text(self) -> str:
        return self.text_in(get_language() or "vi")

    def text_in(self, language: str) -> str:
        return self.text_en if language.startswith("en") else self.text_vi


class Delivery(models.Model):
    """One channel's delivery of one notification, retried until it ends."""

    class Channel(models.TextChoices):
        PUSH = "push", _("Live push")
        EMAIL = "email", _("E-mail")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Refused")
        SKIPPED = "skipped", _("Not sent")

    OPEN = (Status.PENDING, Status.SENDING)

    # No index of its own: `uniq_delivery` begins with it.
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # When pending: the earliest next try. When sending: the end of the sender's lease, after
    # which another sender may take it over (the first one died).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When sending: the sender's token. On a push written delivered: its batch's, by which a
    # failed push after commit finds exactly its rows. Otherwise empty.
    claim = models.UUIDField(null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed by an open page at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="uniq_delivery")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due_idx",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["claim"], name="delivery_claim_idx"),
            models.Index(
                fields=["delivered_at"],
                name="delivery_unconfirmed_push_idx",
                condition=models.Q(channel="push", status="delivered", confirmed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.notification_id} {self.channel} {self.status}"


class NotificationSettings(models.Model):
    """A user's language for notifications (e-mail and the text pushed live)."""

    class Language(models.TextChoices):
        VI = "vi", "Tiếng Việt"
        EN = "en", "English"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_settings",
    )
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.VI
    )

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self) -> str:
        return f"{self.user} {self.language}"


class EmailOptOut(models.Model):
    """The user turned e-mail off for one kind of notification (the inbox still gets it)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_opt_outs"
    )
    kind = models.CharField(_("kind"), max_length=64)

    class Meta:
        verbose_name = _("e-mail turned off")
        verbose_name_plural = _("e-mails turned off")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="uniq_email_opt_out")]

    def __str__(self) -> str:
        return f"{self.user} {self.kind}"


class SocketTicket(models.Model):
    """A single-use pass to open the live push, obtained over the API a moment before.

    The WebSocket's address is written to access logs, so it carries this instead of a
    credential. Only the ticket's SHA-256 is kept; the row is marked used when it is used
    (it opens nothing more), kept for a minute after it was issued so that the tickets a
    user asked for are counted (WEBSOCKET_TICKETS_PER_MINUTE), and pruned when a later
    ticket is issued. The credential it was obtained with (a session, an API token, an
    integration token) stays with the socket it opens: the socket ends when that credential
    does.
    """

    digest = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="socket_tickets"
    )
    # The credential it was obtained with: its kind (notifications.sockets.KINDS) and what
    # names it there (a token's key, a session's key, an integration token's id).
    kind = models.CharField(max_length=16)
    reference = models.CharField(max_length=128)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "issued_at"], name="socket_ticket_issued")]
        verbose_name = _("live push ticket")
        verbose_name_plural = _("live push tickets")

    def __str__(self) -> str:
        return f"{self.user} {self.expires_at:%Y-%m-%d %H:%M:%S}"
