"""Fixtures of the notification tests: a real SMTP server and each channel layer in turn (the
servers themselves are in `tests.notifications.helpers`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.notifications.helpers import (
    MEMORY_LAYER,
    SmtpServer,
    redis_layer,
)


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpServer]:
    """A real SMTP server on loopback, and Django's SMTP backend pointed at it."""
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.NOTIFY_EMAIL_TIMEOUT = 2
    yield server
    server.stop()


@pytest.fixture(params=["memory", "redis"])
def layer(request: Any, settings: Any) -> str:
    """Run the test with the embedded in-memory layer and with the real Redis of `make test`."""
    if request.param == "redis":
        settings.CHANNEL_LAYERS = redis_layer(os.environ["TEST_REDIS_URL"])
    else:
        settings.CHANNEL_LAYERS = MEMORY_LAYER
    return request.param
