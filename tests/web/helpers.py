"""Helpers of the page tests."""

from __future__ import annotations

from typing import Any

from django.test import Client


def htmx(client: Client, url: str, data: dict[str, Any]) -> Any:
    """POST as HTMX does from a page (the autosave)."""
    return client.post(url, data, HTTP_HX_REQUEST="true")
