"""Check the audit chains, print the installation's head, and compare it with the one kept."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from workflow import audit
from workflow.models import AuditEntry

HEAD = re.compile(r"#?(\d+)[\s:]+([0-9a-f]{64})")


def parse_head(text: str) -> tuple[int, str]:
    match = HEAD.search(text)
    if match is None:
        raise CommandError(f"Not a recorded head (entry id and hash): {text.strip()!r}")
    return int(match.group(1)), match.group(2)


class Command(BaseCommand):
    help = (
        "Check the audit trail: every entry's keyed hash, its place in its chain, and that every "
        "chain still holds the heads the anchors recorded. Writes an anchor first (unless "
        "--no-anchor), prints the head (entry id and hash) and, given the head recorded last "
        "time, checks it is still in the trail unchanged. Exit status 1 names the first break."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--head-file",
            help="a file of recorded heads: the last line is checked, the new head appended",
        )
        parser.add_argument("--expect-head", help="the recorded head, as 'ID HASH'")
        parser.add_argument(
            "--no-anchor",
            action="store_true",
            help="only read: do not anchor the chains' current heads first",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        expected: tuple[int, str] | None = None
        head_file = Path(options["head_file"]) if options["head_file"] else None
        if options["expect_head"]:
            expected = parse_head(options["expect_head"])
        elif head_file is not None and head_file.exists():
            lines = [line for line in head_file.read_text().splitlines() if line.strip()]
            if lines:
                expected = parse_head(lines[-1])
        if not options["no_anchor"]:
            audit.anchor(full=True)
        result = audit.verify()
        if result.problem:
            raise CommandError(f"{result.problem} ({result.checked} entries checked before it).")
        if expected is not None:
            self._check_recorded(expected)
        self.stdout.write(
            f"Audit chain intact: {result.checked} entries in {result.chains} chains."
        )
        if result.unanchored:
            self.stdout.write(f"Chains with entries no anchor records yet: {result.unanchored}.")
        if result.head is None:
            self.stdout.write("Head: none (no anchor yet).")
            return
        head_id, head_hash = result.head
        self.stdout.write(f"Head: #{head_id} {head_hash}")
        if expected is not None:
            self.stdout.write(f"The recorded head #{expected[0]} is unchanged in the trail.")
        if head_file is not None:
            with head_file.open("a") as out:
                out.write(f"{head_id} {head_hash} {timezone.now().isoformat()}\n")

    def _check_recorded(self, expected: tuple[int, str]) -> None:
        entry_id, digest = expected
        found = (
            AuditEntry.objects.filter(pk=entry_id, chain=audit.ANCHOR_CHAIN)
            .values_list("hash", flat=True)
            .first()
        )
        if found is None:
            raise CommandError(
                f"The recorded head #{entry_id} is no longer in the audit trail: the trail was "
                "cut or rewritten since it was recorded."
            )
        if found != digest:
            raise CommandError(
                f"The recorded head #{entry_id} has another hash now ({found}, recorded "
                f"{digest}): the audit trail was rewritten since it was recorded."
            )
