"""A web process keeps what it loaded at startup out of the collector's full passes
(config/asgi.py): on deadline day walking it all took a sixteenth of the server's CPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.common import server_env

ROOT = Path(__file__).resolve().parents[2]

# Run as uvicorn loads the application: the module, then nothing else before requests.
STARTUP = """
import gc
import config.asgi
from web.views import cases
walked = {id(thing) for thing in gc.get_objects()}
print(gc.get_freeze_count() > 0, id(cases.sheet) in walked, gc.isenabled())
"""


def test_a_web_process_starts_with_its_views_loaded_and_out_of_the_collectors_passes() -> None:
    started = subprocess.run(
        [sys.executable, "-c", STARTUP],
        cwd=ROOT,
        env=server_env(os.environ["DATABASE_URL"]),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    frozen, view_walked, collecting = started.stdout.split()
    assert frozen == "True"  # what startup loaded is frozen
    assert view_walked == "False"  # the score sheet's view among it, loaded before the freeze
    assert collecting == "True"  # what requests leave behind is still collected
