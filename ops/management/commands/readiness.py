"""The readiness probe as a command, for health checks of processes that serve no HTTP."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ops.health import readiness


class Command(BaseCommand):
    help = "Exit 0 when the database (migrated), Redis and the object store are reachable."

    def handle(self, *args: Any, **options: Any) -> None:
        ready, results = readiness()
        for name, result in results.items():
            self.stdout.write(f"{name}: {result}")
        if not ready:
            raise CommandError("not ready")
