"""Create the evidence bucket (versioned, with object lock where the server supports it)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from evidence.storage import StorageError, get_storage


class Command(BaseCommand):
    help = (
        "Create the evidence bucket when missing: versioning on, and object lock where the "
        "server supports it (it can only be enabled when the bucket is created). Safe to run "
        "at every start."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        store = get_storage()
        try:
            status = store.ensure_bucket()
        except StorageError as exc:
            raise CommandError(f"The evidence store cannot be reached: {exc}") from exc
        where = getattr(store, "bucket", None) or getattr(store, "root", "")
        self.stdout.write(
            f"Evidence store ({store.name}) {where}: "
            f"{'created' if status.created else 'exists'}; "
            f"versioning {'on' if status.versioning else 'off'}; "
            f"object lock {'on' if status.object_lock else 'unavailable'}."
        )
        if store.name == "s3" and not status.object_lock:
            self.stderr.write(
                "Object lock is not enabled on this bucket: submitted evidence is frozen by the "
                "application only. Create a new bucket on a server that supports object lock "
                "to have the store refuse deletes too."
            )
