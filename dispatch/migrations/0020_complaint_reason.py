# A complaint's reason and who opened it (the family page's "complain", issue 15). Written by
# hand with only these two fields: the working tree held other engineers' model changes.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0019_request_district_created"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="complaint",
            name="opened_by",
            field=models.ForeignKey(
                blank=True,
                help_text="Who complained (the rater, for one a low rating opened)",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="complaint",
            name="reason",
            field=models.CharField(
                choices=[
                    ("low_rating", "A low rating"),
                    ("late", "Late, or nobody came"),
                    ("conduct", "The caregiver's manner"),
                    ("quality", "The service was poorly done"),
                    ("safety", "Safety, or the elder's belongings"),
                    ("charges", "Price or charges"),
                    ("other", "Something else"),
                ],
                default="low_rating",
                max_length=12,
            ),
        ),
    ]
