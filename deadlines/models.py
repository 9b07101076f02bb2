"""Deadline data the cycle itself does not hold: calendar overrides, extensions, reminders sent.

Invariants:
- A calendar override is one date of one kind (a day off, or a make-up working day); the
  secretariat adds and removes them through `deadlines.services`, audited. Dates already
  fixed from the calendar (a question's answer date) are not recomputed when it changes.
- An extension only ever moves a deadline later: the effective self-assessment deadline of
  a case is the latest of the cycle's date and its extensions (`deadlines.policy`).
- A reminder log row is the claim that one recipient was told about one occasion; the
  unique (key, recipient) constraint makes every reminder go out at most once, whichever
  sweep gets there first.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Cycle


class CalendarOverride(models.Model):
    """A day the secretariat declares off, or a Saturday/Sunday worked instead (ngày làm bù)."""

    class Kind(models.TextChoices):
        DAY_OFF = "day_off", _("Day off")
        WORKING_DAY = "working_day", _("Make-up working day")

    day = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    reason = models.TextField(_("reason"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day:%d/%m/%Y} {self.get_kind_display()}"


class Extension(models.Model):
    """A later deadline granted to one unit's case (gia hạn), with its reason and grantor."""

    class Kind(models.TextChoices):
        SELF_ASSESSMENT = "self_assessment", _("Self-assessment")
        EXPLANATION = "explanation", _("Explanation")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="extensions")
    kind = models.CharField(_("deadline"), max_length=16, choices=Kind.choices)
    previous_due = models.DateField(_("previous deadline"))
    due_date = models.DateField(_("new deadline"))
    reason = models.TextField(_("reason"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("extension")
        verbose_name_plural = _("extensions")
        ordering = ["case", "granted_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind", "due_date"], name="uniq_extension_per_date"
            ),
            models.CheckConstraint(
                condition=models.Q(due_date__gt=models.F("previous_due")),
                name="extension_moves_later",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.kind} → {self.due_date:%d/%m/%Y}"


class ReminderLog(models.Model):
    """One recipient told about one occasion (`key`), claimed by the sweep run `run`."""

    key = models.CharField(max_length=160)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=64)
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    cycle = models.ForeignKey(
        Cycle, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    run = models.UUIDField(db_index=True)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("reminder sent")
        verbose_name_plural = _("reminders sent")
        constraints = [
            models.UniqueConstraint(fields=["key", "recipient"], name="uniq_reminder_occasion")
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.recipient_id}"
