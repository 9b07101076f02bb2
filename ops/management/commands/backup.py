"""Write one archive of the installation: database, evidence, audit head (ops.backup)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ops.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Back up the installation while it runs: a consistent copy of the database, every "
        "evidence file (on S3 every version), the embedded default's generated keys and the "
        "audit trail's head, in one tar archive. Restore it with `manage.py restore`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            help="the archive to write (a new file); default: VAR_DIR/backups/par-<time>.tar",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        output = Path(options["output"] or settings.VAR_DIR / "backups" / f"par-{stamp}.tar")
        if output.exists():
            raise CommandError(f"{output} already exists: name a new file.")
        try:
            report = backup(output)
        except BackupError as exc:
            output.unlink(missing_ok=True)
            raise CommandError(str(exc)) from exc
        except BaseException:
            output.unlink(missing_ok=True)
            raise
        for note in report.notes:
            self.stderr.write(f"Warning: {note}")
        self.stdout.write(
            f"Backed up to {output}: the database ({report.database}), {report.objects} evidence "
            f"objects ({report.bytes / 1024 / 1024:.1f} MB)."
        )
        if report.head is not None:
            self.stdout.write(f"Audit head: #{report.head[0]} {report.head[1]}")
        self.stdout.write(
            "Keep the archive off this machine; it holds everyone's data (and, in the "
            "embedded default, the installation's keys)."
        )
