"""The head's signed scan of the self-assessment report, where the cycle requires one."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case
from evidence.models import Document
from workflow.models import AuditEntry


class SignedReport(models.Model):
    """A PDF of the signed and sealed self-assessment report.

    The file is an evidence `Document` of the case (not linked to a criterion), so the
    evidence store's checks, its integrity report and the retention given at submission
    cover it like any other file of the case. Each upload is a new row; the submit guard
    accepts the latest one only if no score changed after it was uploaded.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="signed_reports")
    document = models.OneToOneField(Document, on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("signed self-assessment report")
        verbose_name_plural = _("signed self-assessment reports")
        ordering = ["case", "-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.case}: {self.document.filename}"


class SubmittedReport(models.Model):
    """The self-assessment report as it was sent: written when the submission (or the lock
    at the cutoff) commits and kept in the evidence store, where the case's retention covers
    it, so that the paper the unit sent can be given again byte for byte."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="submitted_reports")
    document = models.OneToOneField(Document, on_delete=models.PROTECT, related_name="+")
    submission = models.OneToOneField(AuditEntry, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("submitted self-assessment report")
        verbose_name_plural = _("submitted self-assessment reports")
        ordering = ["case", "-pk"]

    def __str__(self) -> str:
        return f"{self.case}: {self.document.filename}"
