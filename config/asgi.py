"""ASGI entry point: HTTP through Django, WebSocket routes added by the apps that own them."""

import gc
import os
from typing import Any

import django
from channels.routing import ProtocolTypeRouter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does

from config.handler import OneThreadHandler  # noqa: E402

django_asgi_app = OneThreadHandler()

# The embedded default has no worker: sweep deadlines in this process (see deadlines.runner).
from deadlines.runner import start_in_process_if_enabled  # noqa: E402

start_in_process_if_enabled()

from django.conf import settings  # noqa: E402

from config.bodies import BodyLimits  # noqa: E402
from config.turns import Turns  # noqa: E402
from notifications.websocket import websocket_application  # noqa: E402  (needs apps loaded)

# Requests take turns in arrival order once their body has arrived, a few at a time.
http_app: Any = Turns(django_asgi_app, settings.HTTP_TURNS)
if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default: those that may write also take turns among themselves, and
    # wait for that turn first (outermost), so a queued write holds no one's page up.
    http_app = Turns(http_app, settings.SQLITE_WRITERS, writes_only=True)
# Request bodies are checked (length, sender, pace) before Django reads them.
application = ProtocolTypeRouter(
    {"http": BodyLimits(http_app), "websocket": websocket_application()}
)

# What is loaded by now (Django, the apps, every view through the URLconf) lives as long as
# the process: frozen out of the cyclic collector's sight, its full passes walk only what
# requests left behind. Walking it all took about a sixteenth of a web process's CPU on
# deadline day (bench/deadline_day.py: full passes 1.8 s of 30 s per worker, 0.5 s frozen).
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018  (imports the views and what they use)
gc.collect()
gc.freeze()
