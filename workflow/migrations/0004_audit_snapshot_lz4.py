"""Snapshots are compressed with LZ4 on PostgreSQL (14 and later, built with it).

A sweep that locks a thousand cases writes as many snapshots, megabytes of JSON in one
statement per batch; PostgreSQL's default compression took a good part of its time, LZ4
takes a fraction of it (bench/sweep.py), and reads them back faster too. Entries written
before keep their compression; the values read are the same. Nothing changes where LZ4 is
not available, nor on SQLite."""

from django.db import migrations


def use_lz4(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or connection.pg_version < 140000:
        return
    table = schema_editor.quote_name(apps.get_model("workflow", "AuditEntry")._meta.db_table)
    schema_editor.execute(
        "DO $$ BEGIN "
        f"ALTER TABLE {table} ALTER COLUMN snapshot SET COMPRESSION lz4; "
        "EXCEPTION WHEN feature_not_supported THEN NULL; "
        "END $$"
    )


def use_default(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or connection.pg_version < 140000:
        return
    table = schema_editor.quote_name(apps.get_model("workflow", "AuditEntry")._meta.db_table)
    schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN snapshot SET COMPRESSION DEFAULT")


class Migration(migrations.Migration):
    dependencies = [("workflow", "0003_audit_chains")]

    operations = [migrations.RunPython(use_lz4, use_default)]
