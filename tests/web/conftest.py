"""Fixtures of the page tests: a signed-in browser-less client per persona."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import Browser, sync_playwright

from tests.live_server import wait_until_idle
from tests.web.helpers import CHROMIUM_ARGS


@pytest.fixture
def signed_in() -> Callable[[User], Client]:
    """A test client signed in as the given user (pages in Vietnamese, the default)."""

    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def s3_evidence(settings: Any) -> None:
    """Evidence stored on the S3 server `make test` started (a fresh bucket per test)."""
    from evidence.storage import get_storage
    from tests.evidence.helpers import new_bucket, s3_endpoint, use_s3

    use_s3(settings, s3_endpoint(), new_bucket())
    get_storage().ensure_bucket()


@pytest.fixture
def close_pages(transactional_db: Any, browser: Browser) -> Iterator[None]:
    """Close every page before the database is flushed: an open page's bell keeps reconnecting
    to /ws/notifications/, and the request it makes would race the flush into a deadlock.
    A request a page left in flight is waited for too: one still writing while the tables are
    emptied makes the emptying fail. Browser test modules use it
    (`pytest.mark.usefixtures("close_pages")`)."""
    yield
    for context in list(browser.contexts):
        context.close()
    wait_until_idle()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """One Chromium per module (a session-wide sync Playwright upsets later async tests)."""
    run = tmp_path_factory.mktemp("chromium")
    saved = {k: os.environ.get(k) for k in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "TMPDIR")}
    saved["DJANGO_ALLOW_ASYNC_UNSAFE"] = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ.update(
        XDG_CONFIG_HOME=str(run / "config"),
        XDG_CACHE_HOME=str(run / "cache"),
        TMPDIR=str(run),
        # Playwright's sync API runs an event loop in this thread; the ORM calls of the
        # test set-up are plain synchronous calls all the same.
        DJANGO_ALLOW_ASYNC_UNSAFE="true",
    )
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
