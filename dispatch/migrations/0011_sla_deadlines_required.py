from django.db import migrations, models


class Migration(migrations.Migration):
    """Every work order has its SLA deadlines (0010 filled them in for existing ones)."""

    dependencies = [("dispatch", "0010_sla_ladder_outcomes")]

    operations = [
        migrations.AlterField(
            model_name="servicerequest", name="accept_due_at", field=models.DateTimeField()
        ),
        migrations.AlterField(
            model_name="servicerequest", name="arrive_due_at", field=models.DateTimeField()
        ),
    ]
