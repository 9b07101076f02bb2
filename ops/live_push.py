"""Integration tokens open the live push too (`notifications.sockets`): a socket opened with
one closes as soon as the token is revoked or deleted, and at its next check once the token
no longer signs its user in over the API (config/auth.py): expired, revoked without the
message reaching the socket, its user deactivated, or given a role that requires a second
factor they have not set up.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from rest_framework.request import Request

from cases import permissions
from notifications import sockets
from ops.models import IntegrationToken

INTEGRATION = "integration"


def _reference(request: Request) -> str | None:
    return str(request.auth.pk) if isinstance(request.auth, IntegrationToken) else None


def _user_of(reference: str) -> Any:
    """The token's user as the API's integration-token authentication finds it now."""
    token = IntegrationToken.objects.usable().select_related("user").filter(pk=reference).first()
    if token is None or permissions.second_factor_missing(token.user):
        return None
    return token.user


def _ended(sender: Any, instance: IntegrationToken, **kwargs: Any) -> None:
    if instance.revoked_at is not None or kwargs.get("signal") is post_delete:
        digest = sockets.credential_digest(INTEGRATION, str(instance.pk))
        sockets.end_sockets(instance.user_id, digest)


def connect() -> None:
    """Called once from OpsConfig.ready()."""
    sockets.register_credential_kind(sockets.CredentialKind(INTEGRATION, _reference, _user_of))
    post_save.connect(_ended, sender=IntegrationToken, dispatch_uid="ops.live_push.saved")
    post_delete.connect(_ended, sender=IntegrationToken, dispatch_uid="ops.live_push.deleted")
