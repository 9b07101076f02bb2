"""Failed sign-ins, kept a day, which the sign-in guard (config/auth_guard.py) counts; the
long-lived tokens of integrations (config/auth.py).

A row per failed password check, whatever the username (an unknown one too, so that the
answers never tell which accounts exist). A successful sign-in deletes its account's rows.
"""

from __future__ import annotations

from django.conf import settings
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


class IntegrationTokenQuerySet(models.QuerySet["IntegrationToken"]):
    def usable(self) -> IntegrationTokenQuerySet:
        """Tokens that still sign their user in: not revoked, not expired, user active."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now()).filter(
            user__is_active=True
        )


class IntegrationToken(models.Model):
    """A long-lived API token for an integration, made by its user in the pages.

    Only a SHA-256 of the key is kept (the key is shown once, when it is made); `prefix` names
    it on the page. It acts as its user, is refused once revoked or expired, or when the user
    is deactivated (config/auth.py).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="integration_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12)
    key_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = IntegrationTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("integration token")
        verbose_name_plural = _("integration tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
