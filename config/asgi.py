"""ASGI entry point: HTTP through Django, WebSocket routes added by the apps that own them."""

import os
from typing import Any

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

# The embedded default has no worker: sweep deadlines in this process (see deadlines.runner).
from deadlines.runner import start_in_process_if_enabled  # noqa: E402

start_in_process_if_enabled()

from django.conf import settings  # noqa: E402

from config.bodies import BodyLimits  # noqa: E402
from config.sqlite_writes import WriteQueue  # noqa: E402
from notifications.websocket import websocket_application  # noqa: E402  (needs apps loaded)

http_app: Any = django_asgi_app
if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default: requests that may write take turns in arrival order.
    http_app = WriteQueue(http_app, settings.SQLITE_WRITERS)
# Request bodies are checked (length, sender, pace) before Django reads them.
application = ProtocolTypeRouter(
    {"http": BodyLimits(http_app), "websocket": websocket_application()}
)
