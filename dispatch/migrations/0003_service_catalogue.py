from django.db import migrations

from dispatch.catalogue import catalogue_load


def load(apps, schema_editor):
    catalogue_load(apps.get_model("dispatch", "ServiceType"), with_ladder=False)


class Migration(migrations.Migration):
    dependencies = [("dispatch", "0002_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
