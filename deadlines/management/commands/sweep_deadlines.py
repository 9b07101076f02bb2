"""`manage.py sweep_deadlines`: enforce cutoffs and send due reminders, once or in a loop."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from deadlines.runner import run_after_sweep, run_forever
from deadlines.sweep import sweep


class Command(BaseCommand):
    help = (
        "Lock cases past their self-assessment cutoff, expire answer windows, start appraisal "
        "where the cycle says so, and send each due reminder once. Safe to run on several "
        "machines at once; --loop keeps sweeping (the worker)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="sweep again every --interval")
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="seconds between sweeps with --loop (default SWEEP_INTERVAL)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["loop"]:
            self.stdout.write(f"Deadline sweep: {sweep()}")
            run_after_sweep()
            return
        interval = options["interval"] or settings.SWEEP_INTERVAL
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"Sweeping deadlines every {interval:g} s; stop with SIGTERM.")
        run_forever(interval, stop)
