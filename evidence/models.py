"""Evidence files (tài liệu kiểm chứng) and their links to criteria.

Invariants:
- A `Document` is one uploaded file, stored once under a key made by the server; its bytes
  never change and its row is never deleted through the application. Its SHA-256 and size are
  computed while it is streamed to the store.
- A row exists only once its object is stored (upload outside the transaction, then insert;
  the object is deleted if the insert fails). `evidence_check` finds what slipped through.
- An `EvidenceLink` attaches a document to one leaf criterion of the same case, with an
  optional note of the section/page that applies. Each link is a version of that criterion's
  evidence (1, 2, …); a new upload adds a version, nothing is overwritten. A withdrawn link
  stays as history and no longer counts; withdrawing is possible only in self-scoring.
- Evidence counts for the submit guard when its link is not withdrawn and its document's
  object was not found missing or altered (`integrity`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Criterion


class Document(models.Model):
    class Integrity(models.TextChoices):
        OK = "ok", _("Stored")
        MISSING = "missing", _("Missing from the store")
        MISMATCH = "mismatch", _("Altered in the store (checksum differs)")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="evidence_documents")
    storage_key = models.CharField(max_length=200, unique=True)
    version_id = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField("SHA-256", max_length=64)
    size = models.BigIntegerField(_("size (bytes)"))
    content_type = models.CharField(_("content type"), max_length=200)
    kind = models.CharField(_("type"), max_length=16)
    filename = models.CharField(_("file name"), max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    retained_until = models.DateTimeField(_("locked in the store until"), null=True, blank=True)
    integrity = models.CharField(
        _("integrity"), max_length=16, choices=Integrity.choices, default=Integrity.OK
    )

    class Meta:
        verbose_name = _("evidence document")
        verbose_name_plural = _("evidence documents")
        ordering = ["case", "uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.filename


class EvidenceLink(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="evidence_links")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="links")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(_("version"))
    note = models.CharField(_("section / page"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    withdraw_reason = models.TextField(_("reason for withdrawal"), blank=True)

    class Meta:
        verbose_name = _("evidence link")
        verbose_name_plural = _("evidence links")
        ordering = ["case", "criterion__position", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "criterion", "version"], name="uniq_evidence_version"
            ),
            models.UniqueConstraint(
                fields=["document", "criterion"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="uniq_current_document_per_criterion",
            ),
        ]
        indexes = [models.Index(fields=["case", "criterion"])]

    def __str__(self) -> str:
        return f"{self.criterion.code} v{self.version}: {self.document.filename}"

    @property
    def is_current(self) -> bool:
        return self.withdrawn_at is None
