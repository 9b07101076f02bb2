"""Helpers of the page tests."""

from __future__ import annotations

from typing import Any

from django.test import Client

# Debian's Chromium, headless, quiet (see the browser fixture in tests/web/conftest.py).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def htmx(client: Client, url: str, data: dict[str, Any]) -> Any:
    """POST as HTMX does from a page (the autosave)."""
    return client.post(url, data, HTTP_HX_REQUEST="true")
