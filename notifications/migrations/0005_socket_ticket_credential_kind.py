from django.db import migrations, models


def drop_tickets(apps, schema_editor):
    # Tickets live 30 seconds: those of the old shape are simply dropped.
    apps.get_model("notifications", "SocketTicket").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_socket_ticket"),
    ]

    operations = [
        migrations.RunPython(drop_tickets, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="socketticket",
            name="socket_ticket_has_credential",
        ),
        migrations.RemoveField(model_name="socketticket", name="session_key"),
        migrations.RemoveField(model_name="socketticket", name="token_key"),
        migrations.AddField(
            model_name="socketticket",
            name="kind",
            field=models.CharField(default="", max_length=16),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="socketticket",
            name="reference",
            field=models.CharField(default="", max_length=128),
            preserve_default=False,
        ),
    ]
