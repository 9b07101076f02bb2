"""ASGI entry point: HTTP through Django, WebSocket routes added by the apps that own them."""

import os

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

# The embedded default has no worker: sweep deadlines in this process (see deadlines.runner).
from deadlines.runner import start_in_process_if_enabled  # noqa: E402

start_in_process_if_enabled()

from config.bodies import BodyLimits  # noqa: E402
from notifications.websocket import websocket_application  # noqa: E402  (needs apps loaded)

# Request bodies are checked (length, sender, pace) before Django reads them.
application = ProtocolTypeRouter(
    {"http": BodyLimits(django_asgi_app), "websocket": websocket_application()}
)
