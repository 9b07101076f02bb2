"""Fixtures of the page tests: a signed-in browser-less client per persona."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client


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
