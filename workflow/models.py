"""Clarification questions (the explanation loop) and the append-only audit trail.

Invariants:
- An audit entry is written in the same transaction as the change it records, by
  `workflow.audit`; it is never updated or deleted through the ORM.
- A clarification belongs to one case, one leaf criterion and one appraisal round; it is
  `open` until answered, `answered` once the unit wrote an answer, `expired` when the window
  closed unanswered.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Criterion, Cycle


class AppendOnlyError(Exception):
    pass


class SnapshotField(models.JSONField):
    """A JSON column kept as the text written (`json`) on PostgreSQL, not parsed into `jsonb`.

    A snapshot is written once, read whole and never queried into. `jsonb` parses each one
    into its binary form on INSERT and prints it again on every read: a sweep's batch of
    snapshots took more than twice as long to write, and as long again to read back
    (bench/sweep.py). Written by `workflow.audit`, the stored text is the very text the
    entry's `snapshot_sha256` was taken of. Read as Django reads `jsonb` (config/postgresql).
    """

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)


class AuditEntry(models.Model):
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("actor"),
    )
    action = models.CharField(_("action"), max_length=64, db_index=True)
    # No index of its own: the (case, at) index begins with it.
    case = models.ForeignKey(
        Case,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_entries",
        db_index=False,
    )
    cycle = models.ForeignKey(
        Cycle, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_entries"
    )
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    source = models.CharField(_("from"), max_length=32, blank=True)
    target = models.CharField(_("to"), max_length=32, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    snapshot = SnapshotField(null=True, blank=True)
    snapshot_sha256 = models.CharField(max_length=64, blank=True)
    # The hash chains (workflow.audit): an entry is the `seq`-th of its chain (its case's, its
    # cycle's, the installation's or the anchors'), keyed with the audit key `key_id` and
    # linked to the entry before it; `manage.py verify_audit` reports a break.
    chain = models.CharField(max_length=40, blank=True)
    seq = models.PositiveBigIntegerField(default=0)
    key_id = models.CharField(max_length=16, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["case", "at"])]
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_one_entry_per_position")
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("Audit entries are append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit entries are append-only.")


class ClarificationQuerySet(models.QuerySet["Clarification"]):
    def answer_due_at(self, case: Case) -> datetime | None:
        """When the sent questions of the case's current round must be answered (None: none)."""
        due: datetime | None = (
            self.filter(case_id=case.pk, round=case.appraisal_round, due_at__isnull=False)
            .exclude(status=Clarification.Status.EXPIRED)
            .aggregate(due=Max("due_at"))["due"]
        )
        return due


class Clarification(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ANSWERED = "answered", _("Answered")
        EXPIRED = "expired", _("Expired")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="clarifications")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    round = models.PositiveSmallIntegerField(_("appraisal round"))
    question = models.TextField(_("question"))
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    asked_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    due_at = models.DateTimeField(_("answer due"), null=True, blank=True)
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    objects = ClarificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("clarification question")
        verbose_name_plural = _("clarification questions")
        ordering = ["case", "asked_at", "pk"]
        indexes = [models.Index(fields=["case", "status"])]

    def __str__(self) -> str:
        return f"{self.case} {self.criterion.code}: {self.question[:40]}"
