"""Real services for the notification tests (the fixtures are in conftest): an SMTP server on loopback (aiosmtpd), a Redis
server of the test's own that it can stop and start, and the two channel layers."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bench.common import free_port
from cases.models import Case
from config.settings import redis_channel_layers
from tests.helpers import fill_self_scores
from workflow import services as wf


class Mailbox:
    """What a local SMTP server accepted; refuses recipients whose name starts with 'bounce'."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("bounce"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["To"]]


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class RedisServer:
    """A redis-server of the test's own, so that it can be stopped and started again."""

    def __init__(self, folder: Path | None = None) -> None:
        self.port = free_port()
        if folder is None:
            self.dir = tempfile.mkdtemp(prefix="notify-redis-")
        else:
            folder.mkdir(parents=True, exist_ok=True)
            self.dir = str(folder)
        self.pidfile = os.path.join(self.dir, "redis.pid")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        subprocess.run(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--dir",
                self.dir,
                "--pidfile",
                self.pidfile,
                "--logfile",
                os.path.join(self.dir, "redis.log"),
            ],
            check=True,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return
        os.kill(pid, 15)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        if os.path.exists(self.pidfile):
            os.remove(self.pidfile)


def redis_layer(url: str) -> dict[str, Any]:
    """Production's Redis layer, with a prefix of the test's own."""
    layers = redis_channel_layers(url)
    layers["default"]["CONFIG"]["prefix"] = f"test-{uuid.uuid4().hex[:8]}"
    return layers


MEMORY_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def token_for(user: User) -> str:
    return Token.objects.get_or_create(user=user)[0].key


TICKETS = "/api/v1/notifications/socket-ticket/"


def age_token(key: str, days: int) -> None:
    Token.objects.filter(key=key).update(created=timezone.now() - timedelta(days=days))


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def signed_in_browser(user: User) -> Client:
    """A browser with a session of its own (each call: another session of the user)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def ticket(client: Client) -> str:
    """A ticket for the live push, asked for as the page or a script asks (API, POST)."""
    headers = {}
    if "sessionid" in client.cookies:  # the page sends its CSRF token, as app.js does
        client.get("/")
        headers["X-CSRFToken"] = client.cookies["csrftoken"].value
    response = client.post(TICKETS, headers=headers)
    assert response.status_code == 201, response.content
    return str(response.json()["ticket"])


# --- moving the case of unit A along the workflow ----------------------------------------------


def submit(w: Any) -> Case:
    fill_self_scores(w.case_a)
    return wf.run_transition(w.case_a.pk, "submit", actor=w.head_a)


def start_appraisal(w: Any) -> Case:
    submit(w)
    return wf.run_transition(w.case_a.pk, "start_appraisal", actor=w.secretariat)


def request_explanation(w: Any) -> Case:
    start_appraisal(w)
    wf.ask_clarification(w.case_a.pk, "1.1.1", "Kế hoạch ban hành ngày nào?", actor=w.appraiser)
    return wf.run_transition(w.case_a.pk, "request_explanation", actor=w.appraiser)


@contextmanager
def as_on_sqlite() -> Iterator[None]:
    """The embedded default's way (two bulk INSERTs), taken on this PostgreSQL database."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(connection, "vendor", "sqlite")
        yield
