import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# The embedded default has no worker: sweep deadlines in this process (see deadlines.runner).
from deadlines.runner import start_in_process_if_enabled  # noqa: E402

start_in_process_if_enabled()
