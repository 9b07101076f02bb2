"""Report (and with --repair fix) inconsistencies between evidence rows and the store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence import consistency
from evidence.storage import StorageError


class Command(BaseCommand):
    help = (
        "Compare evidence rows with the stored objects: rows whose object is missing or whose "
        "checksum differs, objects no row references, frozen objects without retention. "
        "--repair marks broken rows (never deletes them), deletes unreferenced objects older "
        "than the grace period, and applies missing retentions; every row change is audited. "
        "Exits with status 1 while problems remain."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repair", action="store_true", help="fix what was found")
        parser.add_argument(
            "--no-checksums",
            action="store_true",
            help="compare sizes only (faster; does not read the objects back)",
        )
        parser.add_argument(
            "--grace-minutes",
            type=int,
            default=60,
            help="leave unreferenced objects younger than this alone (uploads in progress)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = consistency.check(
                repair=options["repair"],
                checksums=not options["no_checksums"],
                grace=timedelta(minutes=options["grace_minutes"]),
            )
        except StorageError as exc:
            raise CommandError(f"The evidence store cannot be reached: {exc}") from exc
        for problem in report.problems:
            self.stdout.write(problem.describe())
        repaired = len(report.problems) - len(report.unresolved)
        self.stdout.write(
            f"Checked {report.rows} rows and {report.objects} objects: "
            f"{len(report.problems)} problems, {repaired} repaired"
            + (
                f"; {report.recent_skipped} recent objects left alone"
                if report.recent_skipped
                else ""
            )
            + "."
        )
        if report.unresolved:
            raise CommandError(
                f"{len(report.unresolved)} problems remain"
                + ("" if options["repair"] else "; run with --repair to fix them")
                + "."
            )
