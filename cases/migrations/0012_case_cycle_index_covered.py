"""The case's cycle loses the index of its own: `uniq_case` (cycle, unit) and the (cycle,
state) index begin with it and serve every lookup by cycle. A state change moves the row's
entry in the (cycle, state) index, so PostgreSQL writes a new entry in every index of the
case: one index fewer to write at each transition and sweep."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0011_appraisal_council'),
    ]

    operations = [
        migrations.AlterField(
            model_name='case',
            name='cycle',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='cases', to='cases.cycle'),
        ),
    ]
