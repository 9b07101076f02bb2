"""Add the audit hash chain and link the entries written before it, in pk order."""

import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import migrations, models

GENESIS = "0" * 64


def _canonical(data):
    return json.dumps(
        data, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )


def link_existing(apps, schema_editor):
    # A frozen copy of workflow.audit.entry_fields/entry_hash: migrations must not import
    # code that changes later.
    from datetime import UTC

    AuditEntry = apps.get_model("workflow", "AuditEntry")
    prev = GENESIS
    for entry in AuditEntry.objects.order_by("pk").iterator(chunk_size=2000):
        fields = {
            "at": entry.at.astimezone(UTC).isoformat(),
            "actor": entry.actor_id,
            "action": entry.action,
            "case": entry.case_id,
            "cycle": entry.cycle_id,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "source": entry.source,
            "target": entry.target,
            "before": entry.before,
            "after": entry.after,
            "comment": entry.comment,
            "data": entry.data,
            "snapshot_sha256": entry.snapshot_sha256,
            "prev_hash": prev,
        }
        digest = hashlib.sha256(_canonical(fields).encode()).hexdigest()
        AuditEntry.objects.filter(pk=entry.pk).update(prev_hash=prev, hash=digest)
        prev = digest


class Migration(migrations.Migration):
    dependencies = [("workflow", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="prev_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(link_existing, migrations.RunPython.noop),
    ]
