"""Split the audit trail into keyed chains (per case, per cycle, the installation's) and
re-link the entries written before, each chain in pk order, with the installation's audit key.

Run `manage.py verify_audit` before upgrading: the entries are re-signed as they stand."""

import hashlib
import hmac
import json
from datetime import UTC

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import migrations, models

GENESIS = "0" * 64


def _canonical(data):
    return json.dumps(
        data, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )


def relink(apps, schema_editor):
    # A frozen copy of workflow.audit's chain_of/entry_fields/entry_hash: migrations must not
    # import code that changes later.
    AuditEntry = apps.get_model("workflow", "AuditEntry")
    if not AuditEntry.objects.exists():
        return
    key = settings.AUDIT_KEY
    key_id = hashlib.sha256(b"par-audit-key-id:" + key.encode()).hexdigest()[:16]
    heads: dict[str, tuple[int, str]] = {}
    for entry in AuditEntry.objects.order_by("pk").iterator(chunk_size=2000):
        if entry.case_id is not None:
            chain = f"case:{entry.case_id}"
        elif entry.cycle_id is not None:
            chain = f"cycle:{entry.cycle_id}"
        else:
            chain = "installation"
        seq, prev = heads.get(chain, (0, GENESIS))
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
            "chain": chain,
            "seq": seq + 1,
            "key_id": key_id,
            "prev_hash": prev,
        }
        digest = hmac.new(key.encode(), _canonical(fields).encode(), hashlib.sha256).hexdigest()
        AuditEntry.objects.filter(pk=entry.pk).update(
            chain=chain, seq=seq + 1, key_id=key_id, prev_hash=prev, hash=digest
        )
        heads[chain] = (seq + 1, digest)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0003_merge_deadlines_results"),
        ("workflow", "0002_audit_hash_chain"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="chain",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="key_id",
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="seq",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.RunPython(relink, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="auditentry",
            constraint=models.UniqueConstraint(
                fields=("chain", "seq"), name="audit_one_entry_per_position"
            ),
        ),
    ]
