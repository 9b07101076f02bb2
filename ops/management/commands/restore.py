"""Bring an archive of `manage.py backup` back into an empty installation (ops.backup)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.backup import BackupError, restore, verify_restored


class Command(BaseCommand):
    help = (
        "Restore an archive written by `manage.py backup` into an empty installation (it "
        "refuses one that holds data), then check the audit trail against the archive's head."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", help="the archive written by `manage.py backup`")

    def handle(self, *args: Any, **options: Any) -> None:
        archive = Path(options["archive"])
        if not archive.is_file():
            raise CommandError(f"{archive} is not a file.")
        try:
            report = restore(archive)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        for note in report.notes:
            self.stdout.write(note)
        self.stdout.write(
            f"Restored the database ({report.database}) and {report.objects} evidence objects "
            f"({report.bytes / 1024 / 1024:.1f} MB)."
        )
        checked = verify_restored(report.head)
        self.stdout.write(checked.stdout.strip())
        if checked.returncode != 0:
            raise CommandError(
                f"The restored audit trail does not verify: {checked.stderr.strip()}"
            )
