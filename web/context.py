"""What every page's frame needs: who is looking (for the menu) and the unread count."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from notifications.services import unread_count
from web.pages import Viewer


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Lazy: a page that never shows the menu (an HTMX fragment) asks nothing.
    return {
        "viewer": SimpleLazyObject(lambda: Viewer(user)),
        "unread_count": SimpleLazyObject(lambda: unread_count(user)),
    }
