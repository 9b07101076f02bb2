"""Failed sign-ins, kept a day: what the sign-in guard (config/auth_guard.py) counts.

A row per failed password check, whatever the username (an unknown one too, so that the
answers never tell which accounts exist). A successful sign-in deletes its account's rows.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SignInFailure(models.Model):
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    username = models.CharField(_("user name"), max_length=150)
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)

    class Meta:
        verbose_name = _("failed sign-in")
        verbose_name_plural = _("failed sign-ins")
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["username", "at"]),
            models.Index(fields=["address", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.address or ''}"
