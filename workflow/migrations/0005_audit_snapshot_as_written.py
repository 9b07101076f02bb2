"""Snapshots are stored as the text written (`json`), not parsed into `jsonb`, on PostgreSQL
(`workflow.models.SnapshotField`). Changing a column's type drops its compression setting:
LZ4 (0004) is set again. Nothing changes on SQLite."""

from importlib import import_module

from django.db import migrations

import workflow.models

lz4 = import_module("workflow.migrations.0004_audit_snapshot_lz4")


class Migration(migrations.Migration):
    dependencies = [("workflow", "0004_audit_snapshot_lz4")]

    operations = [
        # Reversed, the column goes back to `jsonb`, which drops its compression again.
        migrations.RunPython(migrations.RunPython.noop, lz4.use_lz4),
        migrations.AlterField(
            model_name="auditentry",
            name="snapshot",
            field=workflow.models.SnapshotField(blank=True, null=True),
        ),
        migrations.RunPython(lz4.use_lz4, migrations.RunPython.noop),
    ]
