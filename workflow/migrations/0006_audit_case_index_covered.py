"""An audit entry's case loses the index of its own: the (case, at) index begins with it and
serves the same lookups, so each entry written updates one index fewer."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0012_case_cycle_index_covered'),
        ('workflow', '0005_audit_snapshot_as_written'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditentry',
            name='case',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='audit_entries', to='cases.case'),
        ),
    ]
