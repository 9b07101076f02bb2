"""The delivery worker: send what is due, retry what failed, with backoff.

Safe to run on several machines at once: rows are claimed (see notifications.delivery), so
each delivery is sent by one of them. `--loop` keeps running until SIGTERM/SIGINT.
"""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from notifications import delivery


class Command(BaseCommand):
    help = "Deliver pending notifications (live push and e-mail) and retry failed ones."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running")
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between rounds")
        parser.add_argument("--batch", type=int, default=200, help="deliveries per round")

    def handle(self, *args: Any, loop: bool, interval: float, batch: int, **options: Any) -> None:
        channels = delivery.channels_this_process_can_send()
        if delivery.PUSH not in channels:
            self.stderr.write(
                "The in-memory channel layer reaches only pages connected to the web process; "
                "this worker sends e-mail only. Set REDIS_URL to retry live pushes too."
            )
        stop = False

        def ask_to_stop(signum: int, frame: Any) -> None:
            nonlocal stop
            stop = True

        if loop:
            signal.signal(signal.SIGTERM, ask_to_stop)
            signal.signal(signal.SIGINT, ask_to_stop)
        total: dict[str, int] = {}
        rounds = 0
        while True:
            rounds += 1
            if loop:  # a long-running worker must not keep a broken or stale connection
                close_old_connections()
            counts = delivery.deliver_due(limit=batch, channels=channels)
            for key, value in counts.items():
                total[key] = total.get(key, 0) + value
            if not loop:
                # A full batch may mean more is due; the cap stops a run whose failures are
                # due again at once (a zero backoff) from going round for ever.
                if sum(counts.values()) < batch or rounds >= 100:
                    break
                continue
            if stop:
                break
            if sum(counts.values()) < batch:
                time.sleep(interval)
            if stop:
                break
        summary = ", ".join(f"{k} {v}" for k, v in sorted(total.items())) or "nothing due"
        self.stdout.write(f"deliveries: {summary}")
